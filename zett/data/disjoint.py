"""Provenance checks between corpora: an evaluation corpus shares no source family, Debian package,
split unit or passage with a training corpus, and evaluation records come from held-out units."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from zett.data.build import unit_heldout
from zett.data.clean import content_hash
from zett.data.load import read_manifest
from zett.data.sources import SOURCE_INFO, unit_of

MIN_LINE_CHARS = 64  # shorter lines (headings, `return None`, verse numbers) repeat by chance
MIN_LINE_ALNUM = 32  # a rule of `#` or `=` is no text


def record_unit(record: Mapping[str, str]) -> str:
    """The split unit of a corpus record (`source` + `doc`): a Bible chapter (every translation), a
    man/help page (every package), a stdlib subpackage, ..."""
    return unit_of(record["source"], record["doc"])


def _package(record: Mapping[str, str]) -> str | None:
    return record["doc"].split("/")[1] if SOURCE_INFO[record["source"]].fmt is not None else None


def iter_records(corpus_dir: str | os.PathLike, split: str) -> Iterator[dict]:
    """Every record of `split` in a built corpus, all languages (nothing if it has no such split)."""
    manifest = read_manifest(corpus_dir)
    for entry in manifest["languages"].values():
        if split in entry["splits"]:
            with open(Path(corpus_dir) / entry["splits"][split]["file"], encoding="utf-8") as f:
                for line in f:
                    yield json.loads(line)


def _long_lines(text: str) -> Iterator[bytes]:
    for line in text.split("\n"):
        line = line.strip()
        if len(line) >= MIN_LINE_CHARS and sum(c.isalnum() for c in line) >= MIN_LINE_ALNUM:
            yield content_hash(line)


@dataclass(frozen=True)
class Overlap:
    """What an evaluation corpus shares with a training corpus (`clean`: nothing that matters).

    `lines` counts evaluation lines of ≥ MIN_LINE_CHARS characters (MIN_LINE_ALNUM of them letters
    or digits) that also occur as a line of the training text: a finer look than whole passages
    (a quoted licence line, a shared docstring), reported but not part of `clean`.
    """

    sources: tuple[str, ...]
    packages: tuple[str, ...]
    units: tuple[str, ...]
    passages: int
    eval_passages: int
    lines: int
    eval_lines: int
    examples: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.sources or self.packages or self.units or self.passages)

    def describe(self) -> str:
        return (
            f"shared source families: {list(self.sources) or 'none'}; Debian packages: "
            f"{list(self.packages) or 'none'}; units: {len(self.units)} {list(self.units[:5])}; "
            f"evaluation passages whose text is a training passage: {self.passages} of "
            f"{self.eval_passages}; long lines also in training text: {self.lines} of "
            f"{self.eval_lines}" + (f"; e.g. {list(self.examples)}" if self.examples else "")
        )


def corpus_overlap(
    train_dir: str | os.PathLike, eval_dir: str | os.PathLike, eval_split: str = "heldout"
) -> Overlap:
    """Compares every record of `eval_dir`'s `eval_split` with every record of `train_dir`'s train
    split (all languages): source families, packages, units, exact passage hashes, long lines."""
    sources, packages, units = set(), set(), set()
    passages, lines = set(), set()
    for r in iter_records(train_dir, "train"):
        sources.add(r["source"])
        packages.add(_package(r))
        units.add(record_unit(r))
        passages.add(content_hash(r["text"]))
        lines.update(_long_lines(r["text"]))
    shared_sources, shared_packages, shared_units = set(), set(), set()
    n_passages = n_shared = n_lines = n_shared_lines = 0
    examples: list[str] = []
    for r in iter_records(eval_dir, eval_split):
        n_passages += 1
        shared_sources |= {r["source"]} & sources
        shared_packages |= {_package(r)} & packages - {None}
        shared_units |= {record_unit(r)} & units
        if content_hash(r["text"]) in passages:
            n_shared += 1
            if len(examples) < 3:
                examples.append(r["text"][:80])
        for h in _long_lines(r["text"]):
            n_lines += 1
            n_shared_lines += h in lines
    return Overlap(
        tuple(sorted(shared_sources)),
        tuple(sorted(shared_packages)),
        tuple(sorted(shared_units)),
        n_shared,
        n_passages,
        n_shared_lines,
        n_lines,
        tuple(examples),
    )


def assert_never_trained(
    train_dir: str | os.PathLike, eval_dir: str | os.PathLike, eval_split: str = "heldout"
) -> Overlap:
    """Raises AssertionError unless `eval_dir` shares no source family, package, unit or passage
    with the training split of `train_dir`; returns the overlap report."""
    overlap = corpus_overlap(train_dir, eval_dir, eval_split)
    if not overlap.clean:
        raise AssertionError(
            f"{eval_dir} overlaps training corpus {train_dir}: {overlap.describe()}"
        )
    return overlap


@lru_cache(maxsize=4)
def _train_index(corpus_dir: str, stamp: float) -> tuple[frozenset[str], frozenset[bytes]]:
    units, passages = set(), set()
    for r in iter_records(corpus_dir, "train"):
        units.add(record_unit(r))
        passages.add(content_hash(r["text"]))
    return frozenset(units), frozenset(passages)


def _index(corpus_dir: str | os.PathLike) -> tuple[frozenset[str], frozenset[bytes]]:
    manifest = Path(corpus_dir) / "manifest.json"
    read_manifest(corpus_dir)  # a clear error for a directory that is not a corpus
    return _train_index(str(Path(corpus_dir).resolve()), manifest.stat().st_mtime)


def train_units(corpus_dir: str | os.PathLike) -> frozenset[str]:
    """The split units of every train record of a corpus, all languages and translations (cached
    while its manifest is unchanged)."""
    return _index(corpus_dir)[0]


def assert_held_out(
    records: Iterable[Mapping[str, str]], corpus_dir: str | os.PathLike = "data/corpus"
) -> int:
    """Raises AssertionError if any record's unit is a training unit of `corpus_dir`, or its `text`
    (where it has one) is the text of a training passage.

    `records` are corpus records or any mappings with `source` and `doc` (a Bible chapter picked
    from the database: `{"source": "bible", "doc": f"bible/{translation}/{book}/{chapter}"}`). A
    unit is checked against the corpus' train files in every language (so another translation of a
    chapter counts) and, for a source of a training corpus, against its seeded split rule too: the
    unit must be on the held-out side, not merely unused by this budget. Returns the number of
    records checked.
    """
    manifest = read_manifest(corpus_dir)
    config = manifest["config"]
    ruled = set(config["sources"]) if manifest.get("purpose", "train") == "train" else set()
    trained, passages = _index(corpus_dir)
    bad: list[str] = []
    n = 0
    for r in records:
        n += 1
        unit = record_unit(r)
        by_rule = r["source"] in ruled and not unit_heldout(
            unit, config["seed"], config["heldout_fraction"]
        )
        if unit in trained or by_rule:
            bad.append(f"{r['doc']} (unit {unit})")
        elif "text" in r and content_hash(r["text"]) in passages:
            bad.append(f"{r['doc']} (its text is a training passage)")
    if bad:
        raise AssertionError(
            f"{len(bad)} of {n} evaluation records come from training units of {corpus_dir}: "
            f"{bad[:5]}"
        )
    return n
