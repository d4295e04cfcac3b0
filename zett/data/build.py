"""`build_corpus`: train/held-out JSONL per language from the offline sources, with a manifest."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tqdm.auto import tqdm

from zett.checkpoint import write_atomic
from zett.data.clean import chunk_passages, content_hash, unit_hash
from zett.data.document import Document
from zett.data.languages import CODE_LANG, LANGUAGES, get_language
from zett.data.sources import SOURCE_INFO, bible, debian, python_code

# the standard corpus' sources (the default); every source: zett.data.sources.SOURCE_INFO
SOURCES = ("bible", "debian-docs", "python-code")
SPLITS = ("train", "heldout")
MANIFEST = "manifest.json"
DEFAULT_LANGS = tuple(sorted(bible.bible_languages())) + (CODE_LANG,)


@dataclass(frozen=True)
class CorpusConfig:
    """What to build. Character budgets are per language; held-out defaults to the same share of
    text as of split units (`heldout_fraction`).

    `purpose: train` builds train + held-out splits from training sources only; `purpose: eval`
    builds an evaluation-only corpus (every unit held out, no train split) from evaluation sources
    only, its per-language budget shared equally among the sources that have text.
    """

    langs: tuple[str, ...] = DEFAULT_LANGS
    sources: tuple[str, ...] = SOURCES
    purpose: Literal["train", "eval"] = "train"
    max_chars_per_lang: int = 4_000_000  # train characters per language
    heldout_fraction: float = 0.05  # share of split units (chapters, pages, modules) held out
    max_heldout_chars_per_lang: int | None = None  # None: max_chars_per_lang * f / (1 - f)
    seed: int = 0
    debian_packages: tuple[str, ...] | None = None  # None: debian.DEFAULT_PACKAGES for the langs
    # Debian packages of the other package-backed sources (a source not named: its default list)
    packages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cache_dir: str | None = (
        None  # Debian package cache; None: $ZETT_CACHE/debian or ~/.cache/zett/debian
    )
    target_passage_chars: int = 1000
    max_passage_chars: int = 2000
    min_passage_chars: int = 200
    # eval corpora: a language with fewer held-out passages is listed as missing (too little text)
    min_heldout_passages: int = 1

    def __post_init__(self) -> None:
        for lang in self.langs:
            get_language(lang)
        if len(set(self.langs)) != len(self.langs) or not self.langs:
            raise ValueError(f"languages must be distinct and non-empty, got {self.langs}")
        unknown = [s for s in self.sources if s not in SOURCE_INFO]
        if unknown or not self.sources:
            raise ValueError(
                f"unknown source(s) {unknown or self.sources}; known: {', '.join(SOURCE_INFO)}"
            )
        if self.purpose not in ("train", "eval"):
            raise ValueError(f"purpose must be 'train' or 'eval', got {self.purpose!r}")
        wrong = [s for s in self.sources if SOURCE_INFO[s].role != self.purpose]
        if wrong:
            raise ValueError(
                f"source(s) {wrong} cannot go into a {self.purpose!r} corpus: "
                + (
                    "they are out-of-domain evaluation families, never training text"
                    if self.purpose == "train"
                    else "they are training families, so not out of domain"
                )
            )
        for src, pkgs in self.packages.items():
            if src not in self.sources or SOURCE_INFO[src].fmt is None or src == debian.SOURCE:
                raise ValueError(
                    f"packages given for {src!r}, which is not a package-backed source of this "
                    "config (debian-docs packages go in debian_packages)"
                )
            debian.check_package_names(pkgs)
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


def unit_heldout(unit: str, seed: int, heldout_fraction: float) -> bool:
    """The split rule: a unit is held out when its seeded hash falls below the fraction."""
    return unit_hash(seed, "split", unit) < heldout_fraction


def is_heldout(unit: str, config: CorpusConfig) -> bool:
    return unit_heldout(unit, config.seed, config.heldout_fraction)


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


def _passages(doc: Document, config: CorpusConfig) -> list[str]:
    return chunk_passages(
        doc.segments,
        doc.joiner,
        config.target_passage_chars,
        config.max_passage_chars,
        config.min_passage_chars,
        code=doc.code,
    )


def _select(
    docs: list[Document], budget: int, seen: set[bytes], config: CorpusConfig
) -> list[dict]:
    """Passages of `docs` in seeded order until `budget` characters; skips hashes in `seen` (and
    adds). Training corpora take each document whole before the next; evaluation corpora take the
    documents' first passages, then their second ones, ... (more documents for the same budget:
    evaluation statistics resample documents), written back in document order."""
    ordered = _ordered(docs, config.seed)
    if config.purpose == "eval":
        chunked = [_passages(d, config) for d in ordered]
        rounds = max(map(len, chunked), default=0)
        candidates = (
            (i, k, chunked[i][k])
            for k in range(rounds)
            for i in range(len(ordered))
            if k < len(chunked[i])
        )
    else:  # lazily: a budget rarely reaches every document
        candidates = (
            (i, k, text)
            for i, d in enumerate(ordered)
            for k, text in enumerate(_passages(d, config))
        )
    picked: list[tuple[int, int, str]] = []
    total = 0
    for i, k, text in candidates:
        h = content_hash(text)
        if h in seen:
            continue
        seen.add(h)
        picked.append((i, k, text))
        total += len(text)
        if total >= budget:
            break
    return [
        {
            "text": text,
            "lang": ordered[i].lang,
            "source": ordered[i].source,
            "doc": ordered[i].doc_id,
        }
        for i, k, text in sorted(picked)
    ]


def _write_jsonl(path: Path, records: Iterable[dict]) -> str:
    """Writes records as JSON lines atomically; returns the content's SHA-256."""
    digest = hashlib.sha256()

    def lines():
        for r in records:
            line = json.dumps(r, ensure_ascii=False) + "\n"
            digest.update(line.encode("utf-8"))
            yield line

    write_atomic(path, lines())
    return digest.hexdigest()


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


def _package_docs(config: CorpusConfig) -> dict[str, debian.DebianDocs]:
    """The package-backed sources of `config`, fetched and parsed now, so a failure surfaces
    before anything is written."""
    out = {}
    cache = Path(config.cache_dir) if config.cache_dir else None
    for name in config.sources:
        fmt = SOURCE_INFO[name].fmt
        if fmt is None:
            continue
        named = config.debian_packages if name == debian.SOURCE else config.packages.get(name)
        # packages the user named must be had; the default list is best effort (apt may be missing)
        packages = list(named) if named is not None else fmt.default_packages(config.langs)
        if not packages:
            continue
        docs = debian.DebianDocs(packages, config.langs, cache, strict=named is not None, fmt=fmt)
        docs.documents(config.langs[0])
        if docs.skipped:
            warnings.warn(
                f"{name}: skipped {len(docs.skipped)} package(s): {', '.join(docs.skipped)}",
                stacklevel=3,
            )
        out[name] = docs
    return out


def _collect(
    lang: str, config: CorpusConfig, package_docs: dict[str, debian.DebianDocs]
) -> list[Document]:
    docs: list[Document] = []
    if "bible" in config.sources:
        docs += bible.iter_documents(lang)
    if "python-code" in config.sources:
        docs += python_code.iter_documents(lang)
    for name in config.sources:
        if name in package_docs:
            docs += package_docs[name].documents(lang)
    return docs


def _select_balanced(docs: list[Document], budget: int, config: CorpusConfig) -> list[dict]:
    """`_select` with the budget shared equally among the sources present; a source with less text
    than its share passes the rest on (sources are visited from the smallest up)."""
    by_source: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        by_source[d.source].append(d)
    order = sorted(by_source, key=lambda s: (sum(d.chars for d in by_source[s]), s))
    records: list[dict] = []
    seen: set[bytes] = set()
    left = budget
    for i, source in enumerate(order):
        got = _select(by_source[source], left // (len(order) - i), seen, config)
        left -= sum(len(r["text"]) for r in got)
        records += got
    return records


def _split_language(lang: str, docs: list[Document], config: CorpusConfig) -> dict[str, list[dict]]:
    if config.purpose == "eval":
        return {"heldout": _select_balanced(docs, config.heldout_chars, config)}
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
    return {"train": train, "heldout": heldout}


def build_corpus(out: str | os.PathLike, config: CorpusConfig = CorpusConfig()) -> dict:
    """Writes `out/{train,heldout}/{lang}.jsonl` (records `{"text", "lang", "source", "doc"}`) and
    `out/manifest.json` (written last: a corpus without it is incomplete). Returns the manifest.

    The split is decided per unit (chapter, help page, stdlib subpackage) by a seeded hash, the
    held-out side is selected first, and training skips any passage whose hash is held out, so
    the two splits share neither units nor passages (both asserted before anything is written).
    An evaluation corpus (`purpose: eval`) has only the held-out split; a language with fewer than
    `min_heldout_passages` passages in its sources is listed under `missing_languages` instead.

    The manifest's `content_sha256` hashes every split file (path and SHA-256, sorted), so a
    model trained on the corpus can record exactly which text it saw.
    """
    start = time.perf_counter()
    out = Path(out)
    package_docs = _package_docs(config)
    # the old manifest would vouch for files this build is about to replace
    (out / MANIFEST).unlink(missing_ok=True)
    manifest_langs: dict[str, dict] = {}
    missing: list[str] = []
    for lang in tqdm(config.langs, desc="languages"):
        docs = _collect(lang, config, package_docs)
        if not docs and config.purpose == "train":
            raise ValueError(
                f"no text for language {lang!r} from sources {', '.join(config.sources)}"
                + (" (Python code comes from source python-code)" if lang == CODE_LANG else "")
            )
        splits = _split_language(lang, docs, config)
        if config.purpose == "eval" and len(splits["heldout"]) < config.min_heldout_passages:
            missing.append(lang)
            continue
        entry = {"name": LANGUAGES[lang].name, "script": LANGUAGES[lang].script, "splits": {}}
        for split, records in splits.items():
            rel = f"{split}/{lang}.jsonl"
            sha = _write_jsonl(out / rel, records)
            entry["splits"][split] = {"file": rel, "sha256": sha, **_stats(records)}
        manifest_langs[lang] = entry
    if not manifest_langs:
        raise ValueError(f"no text for any of {config.langs} from {', '.join(config.sources)}")
    if missing:
        warnings.warn(
            f"no text (or under {config.min_heldout_passages} passages) for language(s) "
            f"{', '.join(missing)}",
            stacklevel=2,
        )
    splits = [s for s in SPLITS if any(s in e["splits"] for e in manifest_langs.values())]
    manifest = {
        "format": "zett-corpus/1",
        "purpose": config.purpose,
        "config": dataclasses.asdict(config),
        "sources": {
            s: {"role": SOURCE_INFO[s].role, "genre": SOURCE_INFO[s].genre} for s in config.sources
        },
        "debian_packages": {name: d.debs for name, d in package_docs.items()},
        "skipped_packages": sorted(p for d in package_docs.values() for p in d.skipped),
        "languages": manifest_langs,
        "missing_languages": missing,
        "scripts": sorted({e["script"] for e in manifest_langs.values()}),
        "totals": {
            split: {
                k: sum(e["splits"][split][k] for e in manifest_langs.values())
                for k in ("passages", "chars", "bytes")
            }
            for split in splits
        },
        "content_sha256": content_sha256(manifest_langs),
        "wall_time_s": round(time.perf_counter() - start, 1),
    }
    write_atomic(out / MANIFEST, [json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"])
    return manifest


def content_sha256(languages: dict) -> str:
    """One hash of a corpus' text: SHA-256 over the sorted `path sha256` lines of its split files
    (from a manifest's `languages`)."""
    lines = sorted(
        f"{s['file']} {s['sha256']}\n" for e in languages.values() for s in e["splits"].values()
    )
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


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
