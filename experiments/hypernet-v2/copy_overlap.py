"""Copy-overlap policy, measured: SmolLM2 on held-out (data/corpus) and out-of-domain
(data/corpus-ood) passages under a target tokenizer, with the shipped hypernet's rows predicted
(copy_overlap=false) or copied where the target token is a source token (copy_overlap=true), FVT, and
the original model on its own tokenizer.

    nice -n 10 python experiments/hypernet-v2/copy_overlap.py --tokenizers smollm2 qwen2 \
        --langs en de zh --texts 8

Bits per byte per method with a 95% bootstrap interval over passages (resampled jointly, so the
paired differences are what the intervals of `delta_vs_*` show). Writes copy_overlap.json."""

from __future__ import annotations

import argparse
import json
import time
from copy import deepcopy
from pathlib import Path

import numpy as np

from zett.assets import resolve
from zett.eval import evaluate_bpb
from zett.heuristics import SourceEmbeddings
from zett.methods import MethodInputs, Target, copy_overlap, parse_method
from zett.models import load_pretrained
from zett.sampling import CorpusTexts
from zett.tokenization import canonicalize, load_tokenizer

SHIPPED = "experiments/smollm2/hypernet"
PREFIX = 1  # SmolLM2-Instruct's BOS <|im_start|> (checked in main), as the bench uses
SETS = {"heldout": ("data/corpus", "heldout"), "ood": ("data/corpus-ood", "heldout")}


def passages(corpus: str, split: str, lang: str, n: int, max_chars: int) -> list[str]:
    texts = CorpusTexts.load(corpus, split, (lang,))
    return [texts[i][0][:max_chars] for i in range(min(n, len(texts)))]


def per_passage(model, tok, texts, tables=None, specials=()) -> np.ndarray:
    """[passages, 2]: (nll bits, bytes) of each passage under the shared scoring protocol
    (`zett.eval.evaluate_bpb`: equal byte context for every tokenizer, the source BOS row as the
    conditioning row), on the model's own tables or on `tables`."""
    e_in = None if tables is None else tables.input_embeddings
    e_out = None if tables is None else tables.output_embeddings
    r = evaluate_bpb(model, tok, texts, PREFIX, e_in, e_out, special_ids=specials, progress=False)
    return np.stack([np.asarray(r.doc_bits), np.asarray(r.doc_bytes, np.float64)], axis=1)


def bootstrap(runs: dict[str, np.ndarray], reps: int = 2000, seed: int = 0) -> dict:
    n = next(iter(runs.values())).shape[0]
    idx = np.random.default_rng(seed).integers(0, n, size=(reps, n))
    bpb = {k: v[:, 0].sum() / v[:, 1].sum() for k, v in runs.items()}
    boot = {k: v[idx, 0].sum(1) / v[idx, 1].sum(1) for k, v in runs.items()}
    out = {k: {"bpb": bpb[k], "ci95": list(np.percentile(boot[k], [2.5, 97.5]))} for k in runs}
    for ref in ("hypernet", "fvt"):
        if ref not in runs:
            continue
        for k in runs:
            if k != ref:
                d = boot[k] - boot[ref]
                out[k][f"delta_vs_{ref}"] = bpb[k] - bpb[ref]
                out[k][f"delta_vs_{ref}_ci95"] = list(np.percentile(d, [2.5, 97.5]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", nargs="+", default=["smollm2", "qwen2"])
    ap.add_argument("--langs", nargs="+", default=["en", "de", "zh"])
    ap.add_argument("--texts", type=int, default=8)
    ap.add_argument("--max-chars", type=int, default=1000)
    ap.add_argument("--out", default=str(Path(__file__).with_name("copy_overlap.json")))
    args = ap.parse_args()
    started = time.time()
    model = load_pretrained("smollm2")
    source_tok = load_tokenizer("smollm2")
    svocab = canonicalize(source_tok)
    assert (svocab.special("bos") or svocab.special("eos")).id == PREFIX
    source = SourceEmbeddings(
        svocab, np.asarray(model.get_input_embeddings()), tokenizer=source_tok
    )
    texts = {
        (s, lang): passages(corpus, split, lang, args.texts, args.max_chars)
        for s, (corpus, split) in SETS.items()
        for lang in args.langs
    }
    results: dict = {
        "command": vars(args),
        "texts": {f"{s}/{lang}": len(t) for (s, lang), t in texts.items()},
    }
    original = {key: per_passage(model, source_tok.tokenizer, t) for key, t in texts.items()}
    for name in args.tokenizers:
        loaded = load_tokenizer(resolve(name))
        target = Target.of(loaded)
        hn = parse_method(f"hypernet:{SHIPPED},copy_overlap=false").run(
            source, target, MethodInputs(progress=True)
        )
        copied = copy_overlap(deepcopy(hn), source, target)
        fvt = None if name == "smollm2" else parse_method("fvt").run(source, target)
        specials = target.vocab.special_ids
        rows = {}
        scored = {"hypernet": hn, "hypernet+copy": copied}
        if name != "smollm2":  # on its own tokenizer FVT copies every row: the original
            scored["fvt"] = fvt
        for (s, lang), t in texts.items():
            runs = {"original": original[(s, lang)]}
            for method, tables in scored.items():
                runs[method] = per_passage(model, loaded.tokenizer, t, tables, specials)
            rows[f"{s}/{lang}"] = bootstrap(runs)
            print(
                name,
                s,
                lang,
                {k: round(float(v["bpb"]), 3) for k, v in rows[f"{s}/{lang}"].items()},
                flush=True,
            )
        results[name] = {
            "target_vocab": target.vocab.size,
            "n_overlap_copied": copied.info.get("n_overlap_copied"),
            "identity_reconstruction": hn.info.get("identity_reconstruction"),
            "bits_per_byte": rows,
        }
        results["wall_s"] = round(time.time() - started, 1)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
