"""Gemma 3 tokenizers rebuilt from the GGUF vs the SentencePiece model rebuilt from it, on Bible
verses.

Compares, per language, exact per-verse agreement and token counts of: zett's `tokenizers.Tokenizer`
(zett.tokenization.gguf_tokenizer) and, unless --no-transformers, transformers' own GGUF tokenizer
converter, both against `sentencepiece.SentencePieceProcessor` on zett's ModelProto. Usage:
    python benchmarks/gemma_tokenizer_agreement.py [--verses 1000] [--no-transformers]
Prints a table and writes benchmarks/results/gemma_tokenizer_agreement.json."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time
from pathlib import Path

BIBLES = {"en": "2", "de": "e", "fr": "l", "es": "9", "ru": "r", "zh": "c", "ja": "j", "ko": "n",
          "hi": "i", "bn": "b", "ar": "y", "fa": "p", "vi": "7", "tr": "t"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verses", type=int, default=1000)
    parser.add_argument("--no-transformers", action="store_true")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "gemma_tokenizer_agreement.json")
    )
    args = parser.parse_args()

    from zett import assets
    from zett.checkpoint import read_gguf

    t = time.perf_counter()
    ck = read_gguf(assets.gemma3_gguf(), tensors=False)
    build_s = time.perf_counter() - t
    sp = ck.gguf_tokenizer.sentencepiece()
    hf = None
    if not args.no_transformers:
        import transformers

        path = assets.gemma3_gguf()
        hf = transformers.AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)

    rows = {}
    with sqlite3.connect(assets.bible_db()) as db:
        for lang, bible in BIBLES.items():
            texts = [
                r[0]
                for r in db.execute(
                    "SELECT vText FROM bible WHERE bbName=? ORDER BY bNumber, cNumber, vNumber "
                    "LIMIT ?",
                    (bible, args.verses),
                )
            ]
            ref = sp.encode(texts)
            ours = [e.ids for e in ck.tokenizer.encode_batch(texts, add_special_tokens=False)]
            row = {
                "verses": len(texts),
                "sentencepiece_tokens": sum(map(len, ref)),
                "zett_agree": sum(a == b for a, b in zip(ref, ours)) / len(texts),
                "zett_tokens": sum(map(len, ours)),
            }
            if hf is not None:
                theirs = [hf(x, add_special_tokens=False)["input_ids"] for x in texts]
                row["transformers_agree"] = sum(a == b for a, b in zip(ref, theirs)) / len(texts)
                row["transformers_tokens"] = sum(map(len, theirs))
            rows[lang] = row
            extra = (
                f"  transformers {row['transformers_agree']:7.2%} ({row['transformers_tokens']} "
                f"tokens)"
                if hf is not None
                else ""
            )
            print(
                f"{lang}: sentencepiece {row['sentencepiece_tokens']:7d} tokens | zett "
                f"{row['zett_agree']:7.2%}{extra}"
            )
    result = {"tokenizer_build_s": build_s, "languages": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
