"""The fixed monolingual validation tokenizers of hypernet v2: a 16k Unigram per language, trained on
the first 3,000 training passages of that language in the standard corpus (deterministic; the same
recipe as `zett bench`'s unigram:LANG:16000).

    python experiments/hypernet-v2/make_tokenizers.py [--corpus data/corpus] [--langs en de ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zett.bench.tokenizers import train_unigram
from zett.sampling import CorpusTexts

OUT = Path(__file__).with_name("tokenizers")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--langs", nargs="+", default=["en", "de", "ru", "zh", "hi", "py"])
    ap.add_argument("--vocab-size", type=int, default=16000)
    ap.add_argument("--texts", type=int, default=3000)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    for lang in args.langs:
        texts = CorpusTexts.load(args.corpus, "train", (lang,))
        sample = [texts[i][0] for i in range(min(args.texts, len(texts)))]
        out = OUT / f"unigram-{lang}-{args.vocab_size}.json"
        tmp = out.with_suffix(".tmp")
        train_unigram(sample, args.vocab_size).save(str(tmp))
        tmp.replace(out)
        print(out)


if __name__ == "__main__":
    main()
