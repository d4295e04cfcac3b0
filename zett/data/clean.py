"""Text normalisation, passage chunking and the content hash used for deduplication."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator

# Han, kana, CJK punctuation and full-width forms: spaces between two of these are typesetting, not
# words.
_CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}“”‘’])|(?<=[{_CJK}“”‘’])\\s+(?=[{_CJK}])")
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s*")
_INVISIBLE = ("\u00ad", "\ufeff", "\u200b")  # soft hyphen, BOM, zero-width space


def normalize_text(text: str, spaced: bool = True) -> str:
    """NFC, invisible characters dropped, whitespace runs collapsed to one space (none between CJK)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    for ch in _INVISIBLE:
        if ch in text:
            text = text.replace(ch, "")
    text = " ".join(
        text.split()
    )  # str.split() knows all Unicode whitespace; far faster than a regex
    if not spaced:
        text = _CJK_GAP.sub("", text)
    return text


def normalize_code(text: str) -> str:
    """NFC, unix newlines, trailing blanks stripped; indentation and line structure kept."""
    text = (
        unicodedata.normalize("NFC", text)
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\ufeff", "")
    )
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def code_blocks(text: str) -> list[str]:
    """Blank-line separated blocks of normalised code (runs of blank lines become one separator)."""
    return [b for b in re.split(r"\n\s*\n", normalize_code(text)) if b.strip()]


def _split_long(segment: str, max_chars: int, code: bool) -> Iterator[str]:
    """Cuts a segment longer than `max_chars` at sentence (or line) ends, then hard."""
    if len(segment) <= max_chars:
        yield segment
        return
    pieces = segment.split("\n") if code else [p for p in _SENTENCE_END.split(segment) if p]
    joiner = "\n" if code else " "
    current = ""
    for piece in pieces:
        while len(piece) > max_chars:
            if current:
                yield current
                current = ""
            yield piece[:max_chars]
            piece = piece[max_chars:]
        if current and len(current) + len(joiner) + len(piece) > max_chars:
            yield current
            current = piece
        else:
            current = f"{current}{joiner}{piece}" if current else piece
    if current:
        yield current


def chunk_passages(
    segments: Iterable[str],
    joiner: str = " ",
    target_chars: int = 1000,
    max_chars: int = 2000,
    min_chars: int = 200,
    code: bool = False,
) -> list[str]:
    """Groups consecutive segments (verses, paragraphs, code blocks) into passages of running text.

    A passage grows until it reaches `target_chars` and never exceeds `max_chars`; a short tail is
    merged into the previous passage when it fits, and passages under `min_chars` are dropped.
    """
    passages: list[str] = []
    current = ""
    for seg in segments:
        for piece in _split_long(seg, max_chars, code):
            if current and len(current) + len(joiner) + len(piece) > max_chars:
                passages.append(current)
                current = ""
            current = f"{current}{joiner}{piece}" if current else piece
            if len(current) >= target_chars:
                passages.append(current)
                current = ""
    if current:
        if (
            passages
            and len(current) < min_chars
            and len(passages[-1]) + len(joiner) + len(current) <= max_chars
        ):
            passages[-1] = f"{passages[-1]}{joiner}{current}"
        else:
            passages.append(current)
    return [p for p in passages if len(p) >= min_chars]


def content_hash(text: str) -> bytes:
    """16-byte digest of a normalised passage: the key for exact deduplication."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def unit_hash(seed: int, *parts: str) -> float:
    """A seeded, platform-independent number in [0, 1) for `parts` (Python's `hash` is salted)."""
    key = "\x1f".join((str(seed), *parts)).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
