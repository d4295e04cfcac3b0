"""How `zett transfer`'s legacy split of target tokens for the hypernet (greedy longest match) compares
with the split the hypernet was trained with (the source tokenizer's own BPE), on held-out text.

    python experiments/refactor/hypernet_decomposition.py [--lang de] [--texts 24]

Writes experiments/refactor/hypernet_decomposition.json (bits per byte per variant, with FVT and
the original model for reference). The committed JSON (2.153 vs 2.088 bits/byte) was measured under the
earlier scoring (pieces of 256 tokens from BOS); the script now scores under `zett.eval.protocol`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="de")
    parser.add_argument("--texts", type=int, default=24)
    parser.add_argument(
        "--tokenizer",
        default=str(REPO / "experiments/bench/results/tokenizers/unigram-de-16000.json"),
    )
    args = parser.parse_args()

    from zett.assets import resolve
    from zett.data import load_texts
    from zett.eval.model_bpb import evaluate_bpb
    from zett.heuristics import SourceEmbeddings
    from zett.methods import MethodInputs, Target, parse_method
    from zett.models import load_pretrained
    from zett.tokenization import canonicalize, load_tokenizer

    texts = list(load_texts(str(REPO / "data/corpus"), "heldout", [args.lang])["text"])
    texts = texts[: args.texts]
    model = load_pretrained(resolve("smollm2"))
    src_tok = load_tokenizer(resolve("smollm2"))
    src_vocab = canonicalize(src_tok)
    prefix = (src_vocab.special("bos") or src_vocab.special("eos")).id
    target = Target.of(load_tokenizer(args.tokenizer))
    source = SourceEmbeddings(
        src_vocab, np.asarray(model.get_input_embeddings()), tokenizer=src_tok
    )
    hn = REPO / "experiments/smollm2/hypernet"
    results = {}

    def score(label, tokenizer, tables=None, special_ids=None):
        t0 = time.time()
        r = evaluate_bpb(
            model,
            tokenizer,
            texts,
            prefix_row=prefix,
            input_embeddings=None if tables is None else tables.input_embeddings,
            special_ids=special_ids,
            progress=False,
        )
        results[label] = {"bits_per_byte": r.bits_per_byte, "seconds": round(time.time() - t0, 1)}
        print(f"{label:<40} {r.bits_per_byte:.4f} bits/byte", flush=True)

    score("original", src_tok.tokenizer, special_ids=src_vocab.special_ids)
    for spec in (
        f"hypernet:{hn},decomposition=longest_match",
        f"hypernet:{hn},decomposition=tokenizer",
        "fvt",
    ):
        tables = parse_method(spec).run(source, target, MethodInputs())
        label = spec.replace(f"hypernet:{hn}", "hypernet")
        score(label, target.tokenizer.tokenizer, tables, target.vocab.special_ids)
    out = HERE / "hypernet_decomposition.json"
    record = {"lang": args.lang, "n_texts": len(texts), "tokenizer": args.tokenizer, **results}
    out.write_text(json.dumps(record, indent=1).replace(str(REPO), "<repo>") + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
