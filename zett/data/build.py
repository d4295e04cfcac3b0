"""`build_corpus`: train/held-out JSONL per language from the offline sources, with a manifest."""

from __future__ import annotations

import dataclasses
import json
import os
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from zett.checkpoint import write_atomic
from zett.data.clean import chunk_passages, content_hash, unit_hash
from zett.data.document import Document
from zett.data.languages import CODE_LANG, LANGUAGES, get_language
from zett.data.sources import bible, debian, python_code

SOURCES = ("bible", "debian-docs", "python-code")
SPLITS = ("train", "heldout")
MANIFEST = "manifest.json"
DEFAULT_LANGS = tuple(sorted(bible.bible_languages())) + (CODE_LANG,)


@dataclass(frozen=True)
class CorpusConfig:
    """What to build. Character budgets are per language; held-out defaults to the same share of
    text as of split units (`heldout_fraction`)."""

    langs: tuple[str, ...] = DEFAULT_LANGS
    sources: tuple[str, ...] = SOURCES
    max_chars_per_lang: int = 4_000_000  # train characters per language
    heldout_fraction: float = 0.05  # share of split units (chapters, pages, modules) held out
    max_heldout_chars_per_lang: int | None = None  # None: max_chars_per_lang * f / (1 - f)
    seed: int = 0
    debian_packages: tuple[str, ...] | None = None  # None: debian.DEFAULT_PACKAGES for the langs
    cache_dir: str | None = (
        None  # Debian package cache; None: $ZETT_CACHE/debian or ~/.cache/zett/debian
    )
    target_passage_chars: int = 1000
    max_passage_chars: int = 2000
    min_passage_chars: int = 200

    def __post_init__(self) -> None:
        for lang in self.langs:
            get_language(lang)
        if len(set(self.langs)) != len(self.langs) or not self.langs:
            raise ValueError(f"languages must be distinct and non-empty, got {self.langs}")
        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown or not self.sources:
            raise ValueError(
                f"unknown source(s) {unknown or self.sources}; known: {', '.join(SOURCES)}"
            )
        if not 0.0 < self.heldout_fraction < 1.0:
            raise ValueError(f"heldout_fraction must be in (0, 1), got {self.heldout_fraction}")
        if self.max_chars_per_lang <= 0:
            raise ValueError(f"max_chars_per_lang must be positive, got {self.max_chars_per_lang}")
        if not 0 < self.min_passage_chars <= self.target_passage_chars <= self.max_passage_chars:
            raise ValueError(
                "need 0 < min_passage_chars <= target_passage_chars <= max_passage_chars"
            )
        if self.debian_packages is not None:
            debian.check_package_names(self.debian_packages)

    @property
    def heldout_chars(self) -> int:
        if self.max_heldout_chars_per_lang is not None:
            return self.max_heldout_chars_per_lang
        f = self.heldout_fraction
        return round(self.max_chars_per_lang * f / (1 - f))


def is_heldout(unit: str, config: CorpusConfig) -> bool:
    return unit_hash(config.seed, "split", unit) < config.heldout_fraction


def _ordered(docs: list[Document], seed: int) -> list[Document]:
    """Seeded order that visits every unit once before any unit's second document (a second
    translation of a chapter, the same man page from another package): budgets buy diversity."""
    by_unit: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        by_unit[d.unit].append(d)
    keyed = []
    for group in by_unit.values():
        group.sort(key=lambda d: unit_hash(seed, "pick", d.doc_id))
        keyed += [((rank, unit_hash(seed, "order", d.doc_id)), d) for rank, d in enumerate(group)]
    return [d for _, d in sorted(keyed, key=lambda kd: kd[0])]


def _select(
    docs: list[Document], budget: int, seen: set[bytes], config: CorpusConfig
) -> list[dict]:
    """Passages of `docs` in seeded order until `budget` characters; skips hashes in `seen` (and
    adds)."""
    records: list[dict] = []
    total = 0
    for doc in _ordered(docs, config.seed):
        passages = chunk_passages(
            doc.segments,
            doc.joiner,
            config.target_passage_chars,
            config.max_passage_chars,
            config.min_passage_chars,
            code=doc.code,
        )
        for text in passages:
            h = content_hash(text)
            if h in seen:
                continue
            seen.add(h)
            records.append(
                {"text": text, "lang": doc.lang, "source": doc.source, "doc": doc.doc_id}
            )
            total += len(text)
            if total >= budget:
                return records
    return records


def _stats(records: list[dict]) -> dict:
    def count(rs: list[dict]) -> dict:
        return {
            "documents": len({r["doc"] for r in rs}),
            "passages": len(rs),
            "chars": sum(len(r["text"]) for r in rs),
            "bytes": sum(len(r["text"].encode("utf-8")) for r in rs),
        }

    by_source: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_source[r["source"]].append(r)
    return {**count(records), "sources": {s: count(rs) for s, rs in sorted(by_source.items())}}


def _collect(
    lang: str, config: CorpusConfig, debian_docs: debian.DebianDocs | None
) -> list[Document]:
    docs: list[Document] = []
    if "bible" in config.sources:
        docs += bible.iter_documents(lang)
    if "python-code" in config.sources:
        docs += python_code.iter_documents(lang)
    if debian_docs is not None:
        docs += debian_docs.documents(lang)
    return docs


def _debian_docs(config: CorpusConfig) -> debian.DebianDocs | None:
    if "debian-docs" not in config.sources:
        return None
    explicit = config.debian_packages is not None
    packages = list(config.debian_packages) if explicit else debian.default_packages(config.langs)
    if not packages:
        return None
    cache = Path(config.cache_dir) if config.cache_dir else None
    # packages the user named must be had; the default list is best effort (apt may be missing)
    docs = debian.DebianDocs(packages, config.langs, cache, strict=explicit)
    docs.documents(config.langs[0])  # fetch and parse now, so a failure surfaces before any writing
    if docs.skipped:
        warnings.warn(
            f"debian-docs: skipped {len(docs.skipped)} package(s): {', '.join(docs.skipped)}",
            stacklevel=2,
        )
    return docs


def build_corpus(out: str | os.PathLike, config: CorpusConfig = CorpusConfig()) -> dict:
    """Writes `out/{train,heldout}/{lang}.jsonl` (records `{"text", "lang", "source", "doc"}`) and
    `out/manifest.json` (written last: a corpus without it is incomplete). Returns the manifest.

    The split is decided per unit (chapter, help page, stdlib subpackage) by a seeded hash, the
    held-out side is selected first, and training skips any passage whose hash is held out, so
    the two splits share neither units nor passages (both asserted before anything is written).
    """
    start = time.perf_counter()
    out = Path(out)
    debian_docs = _debian_docs(config)
    # the old manifest would vouch for files this build is about to replace
    (out / MANIFEST).unlink(missing_ok=True)
    manifest_langs: dict[str, dict] = {}
    for lang in tqdm(config.langs, desc="languages"):
        docs = _collect(lang, config, debian_docs)
        if not docs:
            raise ValueError(
                f"no text for language {lang!r} from sources {', '.join(config.sources)}"
                + (" (Python code comes from source python-code)" if lang == CODE_LANG else "")
            )
        held_docs = [d for d in docs if is_heldout(d.unit, config)]
        train_docs = [d for d in docs if not is_heldout(d.unit, config)]
        seen: set[bytes] = set()
        heldout = _select(held_docs, config.heldout_chars, seen, config)
        train = _select(train_docs, config.max_chars_per_lang, seen, config)
        _assert_disjoint(lang, train, heldout, {d.doc_id: d.unit for d in docs})
        if not train or not heldout:
            raise ValueError(
                f"language {lang!r}: empty {'train' if not train else 'held-out'} split "
                f"({len(docs)} documents); raise --heldout-fraction or add sources"
            )
        entry = {"name": LANGUAGES[lang].name, "script": LANGUAGES[lang].script, "splits": {}}
        for split, records in (("train", train), ("heldout", heldout)):
            rel = f"{split}/{lang}.jsonl"
            write_atomic(out / rel, (json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            entry["splits"][split] = {"file": rel, **_stats(records)}
        manifest_langs[lang] = entry
    manifest = {
        "format": "zett-corpus/1",
        "config": dataclasses.asdict(config),
        "languages": manifest_langs,
        "scripts": sorted({e["script"] for e in manifest_langs.values()}),
        "totals": {
            split: {
                k: sum(e["splits"][split][k] for e in manifest_langs.values())
                for k in ("passages", "chars", "bytes")
            }
            for split in SPLITS
        },
        "wall_time_s": round(time.perf_counter() - start, 1),
    }
    write_atomic(out / MANIFEST, [json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"])
    return manifest


def _assert_disjoint(
    lang: str, train: list[dict], heldout: list[dict], units: dict[str, str]
) -> None:
    train_units = {units[r["doc"]] for r in train}
    held_units = {units[r["doc"]] for r in heldout}
    if train_units & held_units:
        raise AssertionError(
            f"{lang}: units in both splits: {sorted(train_units & held_units)[:5]}"
        )
    if {content_hash(r["text"]) for r in train} & {content_hash(r["text"]) for r in heldout}:
        raise AssertionError(f"{lang}: a passage is in both train and held-out")
