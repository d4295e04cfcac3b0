"""zett's FOCUS against the published `deepfocus` package on the same overlap and fastText vectors."""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TQDM_DISABLE", "1")  # deepfocus draws a progress bar per token
import time
from pathlib import Path

import numpy as np

from zett.heuristics.base import SourceEmbeddings, copy_plan
from zett.heuristics.focus import TokenVectors, focus_init, train_token_vectors

RESULT = Path(__file__).parent / "results" / "focus_vs_deepfocus.json"


def run_deepfocus(
    source: SourceEmbeddings,
    target,
    tokenizer,
    vectors: TokenVectors,
    table: np.ndarray,
    seed: int = 0,
):
    """deepfocus' FOCUS on `table` [source_vocab, embed] with its fastText loader and overlap search
    replaced by zett's vectors and copy plan, so only the FOCUS math differs. Returns [target_vocab,
    embed] float32."""
    import torch
    from deepfocus import focus as df
    from deepfocus.vocab_helper import NewToken, OverlappingToken, TokenClass

    names = [
        f"<{i}>" for i in range(target.size)
    ]  # unique keys: deepfocus keys its dicts by token text

    def tc(i, side):
        name = names[i] if side == "target" else f"<source {i}>"
        return TokenClass(name, int(i), name, name, name, name, False, side)

    t_ids, s_ids = copy_plan(source, target)
    t_ids, first = np.unique(t_ids, return_index=True)
    s_ids = s_ids[first]
    overlap = {
        names[t]: OverlappingToken(source=[tc(s, "source")], target=tc(t, "target"))
        for t, s in zip(t_ids.tolist(), s_ids.tolist())
    }
    copied = set(t_ids.tolist())
    new = {
        names[i]: NewToken(target=tc(i, "target")) for i in range(target.size) if i not in copied
    }
    aux = {names[i]: v for i, v in zip(vectors.ids.tolist(), vectors.vectors)}

    class Sized:
        def __len__(self):
            return target.size

    saved = df.load_target_token_embedding, df.get_overlapping_tokens
    df.load_target_token_embedding = lambda **_: aux
    df.get_overlapping_tokens = lambda **_: (overlap, new)
    try:
        out = df.FOCUS(
            Sized(),
            None,
            torch.from_numpy(np.ascontiguousarray(table)),
            fasttext_model_path="given",
            seed=seed,
            verbosity="silent",
        )
    finally:
        df.load_target_token_embedding, df.get_overlapping_tokens = saved
    return out.numpy()


def compare(source: SourceEmbeddings, target, tokenizer, vectors: TokenVectors) -> dict:
    """Both implementations on the input table; max abs diff over copied and FOCUS rows (random rows
    differ by RNG)."""
    t0 = time.perf_counter()
    ours = focus_init(source, target, vectors=vectors)
    t_zett = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = run_deepfocus(source, target, tokenizer, vectors, source.input_embeddings)
    t_df = time.perf_counter() - t0
    has_vec = np.zeros(target.size, bool)
    has_vec[vectors.ids] = True
    det = ours.copied | has_vec  # rows both compute deterministically
    diff = np.abs(ours.input_embeddings[det].astype(np.float64) - theirs[det])
    scale = float(np.abs(source.input_embeddings).max())
    return {
        "n_target": target.size,
        "n_copied": ours.info["n_copied"],
        "n_focus": ours.info["n_focus"],
        "n_random": ours.info["n_random"],
        "n_anchors": ours.info["n_anchors"],
        "max_abs_diff": float(diff.max()),
        "max_rel_diff": float(diff.max() / scale),
        "random_rows_filled_by_deepfocus": bool(np.all(theirs[~det] != 0) or not (~det).any()),
        "seconds_zett": t_zett,
        "seconds_deepfocus": t_df,
        "speedup_zett_over_deepfocus": t_df / t_zett,
    }


def smollm2_embeddings() -> np.ndarray:
    """SmolLM2's token_embd.weight [49152, 576], dequantized from the GGUF (only that tensor is
    read)."""
    import gguf

    from zett import assets

    reader = gguf.GGUFReader(str(assets.smollm2_gguf()))
    (t,) = [t for t in reader.tensors if t.name == "token_embd.weight"]
    w = gguf.quants.dequantize(t.data, t.tensor_type)
    return np.asarray(w, np.float32).reshape(-1, w.shape[-1])


def main() -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from zett import assets
    from zett.data import load_texts
    from zett.tokenization import canonicalize, load_tokenizer

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lang", default="de")
    ap.add_argument("--vocab", type=int, default=16000)
    ap.add_argument(
        "--tok-texts", type=int, default=1000, help="texts to train the Unigram tokenizer on"
    )
    ap.add_argument("--min-count", type=int, default=10)
    ap.add_argument(
        "--rare",
        choices=("ngrams", "random"),
        default="ngrams",
        help="tokens below --min-count: composed from character n-grams, or none (deepfocus "
        "tokenlevel)",
    )
    args = ap.parse_args()

    texts = load_texts("data/corpus", split="train", langs=[args.lang])["text"]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    tok.train_from_iterator(
        texts[: args.tok_texts],
        trainers.UnigramTrainer(
            vocab_size=args.vocab, special_tokens=["<unk>"], unk_token="<unk>", show_progress=False
        ),
    )
    target = canonicalize(load_tokenizer(tok))
    source = SourceEmbeddings(
        canonicalize(load_tokenizer(assets.smollm2_gguf())), smollm2_embeddings()
    )
    t0 = time.perf_counter()
    vectors = train_token_vectors(
        texts, tok, min_count=args.min_count, threads=os.cpu_count(), rare=args.rare
    )
    t_ft = time.perf_counter() - t0
    res = compare(source, target, tok, vectors)
    res.update(
        lang=args.lang,
        n_texts=len(texts),
        seconds_fasttext=t_ft,
        source="SmolLM2-135M-Instruct token_embd.weight (Q4_1 dequantized)",
        target=f"Unigram {target.size} trained on {args.tok_texts} {args.lang} texts",
        fasttext=f"cbow dim 100 epochs 3 neg 10 min_count {args.min_count} char 3-6-grams over "
        f"token strings; rare tokens: {args.rare}",
    )
    print(json.dumps(res, indent=2))
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=2) + "\n")
    tmp.replace(RESULT)


if __name__ == "__main__":
    main()
