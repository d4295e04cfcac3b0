"""The bench's text: evaluation passages per (domain, language), training text for Unigram tokenizers
and FOCUS' fastText."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from zett.bench.config import BenchConfig, Domain
from zett.data.load import corpus_files, read_manifest
from zett.eval.arithmetic import ARITH, arithmetic_records
from zett.eval.heldout import record_unit, select_passages

ARITH_TRAIN_TEXTS = 3000  # arithmetic train passages when a caller asks for all of them


@dataclass(frozen=True)
class Passages:
    """Evaluation passages of one (domain, language): records {text, lang, source, doc}, or the
    reason there are none (`missing`)."""

    records: tuple[dict, ...] = ()
    missing: str | None = None

    @property
    def texts(self) -> list[str]:
        return [r["text"] for r in self.records]

    @property
    def n_units(self) -> int:
        return len({record_unit(r) for r in self.records})


def read_records(corpus: str, split: str, lang: str) -> list[dict]:
    """Every record of `split`/`lang` of a built corpus (ValueError when it has no such part)."""
    (path,) = corpus_files(corpus, split, [lang])
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluation_passages(config: BenchConfig, domain: Domain, lang: str) -> Passages:
    """`texts_per_language` passages from ≥ `min_units` units by a seeded round-robin over units;
    a domain without (enough) text for the language is `missing`, not an error.

    `arith` (`zett.eval.arithmetic`) is generated, not read: it has no domains, so it is scored once,
    under the config's first domain, and is `missing` in the others."""
    if lang == ARITH:
        first = config.domains[0].name
        if domain.name != first:
            return Passages(missing=f"synthetic arithmetic has no domains: scored under {first!r}")
        records = arithmetic_records(config.texts_per_language, "heldout", config.seed)
        return Passages(tuple(select_passages(records, len(records), config.min_units)))
    try:
        records = read_records(domain.corpus, domain.split, lang)
    except (ValueError, FileNotFoundError) as e:
        return Passages(missing=str(e))
    try:
        picked = select_passages(
            records,
            config.texts_per_language,
            config.min_units,
            config.seed,
            f"{domain.name} ({domain.corpus}, {domain.split}) {lang}",
        )
    except ValueError as e:
        return Passages(missing=str(e))
    if not picked:
        return Passages(missing=f"{domain.corpus} has no {domain.split} text for {lang!r}")
    return Passages(tuple(picked))


def train_texts(corpus: str, langs: list[str], limit: int | None = None) -> list[str]:
    """The train split's texts of `langs` (the first `limit` per language), in corpus order;
    `arith`'s are generated (`ARITH_TRAIN_TEXTS` when there is no limit)."""
    out = []
    for lang in langs:
        if lang == ARITH:
            records = arithmetic_records(limit or ARITH_TRAIN_TEXTS, "train")
            out += [r["text"] for r in records]
            continue
        texts = [r["text"] for r in read_records(corpus, "train", lang)]
        if not texts:
            raise ValueError(f"corpus {corpus} has no train texts for language {lang!r}")
        out += texts[:limit] if limit is not None else texts
    return out


def focus_languages(config: BenchConfig, tok_spec: str) -> list[str]:
    """The languages a target tokenizer serves: a `unigram:<lang>` tokenizer its own; any other (a
    real multilingual tokenizer, raw bytes) every language of the training corpus."""
    if tok_spec.startswith("unigram:"):
        return [tok_spec.split(":")[1]]
    return sorted(read_manifest(Path(config.corpus))["languages"])
