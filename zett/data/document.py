"""A source document: the unit of text that the builder chunks, splits and selects."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """Cleaned segments (verses, paragraphs, code blocks) of one document, in reading order.

    `unit` names the group the train/held-out split is decided on: every document of a unit goes
    to the same side, so translations of a chapter, or the same man page in another package,
    cannot leak across. `doc_id` is unique within its source.
    """

    lang: str
    source: str
    doc_id: str
    unit: str
    segments: tuple[str, ...]
    joiner: str = (
        " "  # between segments in a passage: " " verses, "" unspaced scripts, "\n" paragraphs
    )
    code: bool = (
        False  # segments are code blocks: long ones are cut at line ends, not sentence ends
    )

    @property
    def chars(self) -> int:
        return sum(len(s) for s in self.segments)
