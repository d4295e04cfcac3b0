"""The GPT-2 bytes-to-unicode alphabet: one printable character per byte, the canonical spelling of
token bytes."""

from __future__ import annotations


class TokenizerError(ValueError):
    """A tokenizer or vocabulary zett cannot interpret (names the token, id or file at fault)."""


def _bytes_to_unicode() -> tuple[str, ...]:
    # Printable Latin-1 bytes stand for themselves; the rest are shifted to U+0100.. so none is
    # whitespace/control.
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars: dict[int, str] = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + n)
            n += 1
    return tuple(chars[b] for b in range(256))


BYTE_TO_CHAR: tuple[str, ...] = _bytes_to_unicode()
CHAR_TO_BYTE: dict[str, int] = {c: b for b, c in enumerate(BYTE_TO_CHAR)}
SPACE: str = BYTE_TO_CHAR[ord(" ")]  # "Ġ"

# Translation tables make both directions C-speed (str.translate / bytes.decode), no per-byte Python
# loop.
_LATIN1_TO_CANON = {b: BYTE_TO_CHAR[b] for b in range(256)}
_CANON_TO_LATIN1 = {ord(c): b for b, c in enumerate(BYTE_TO_CHAR)}


def to_canonical(b: bytes) -> str:
    """Bytes → canonical string (one alphabet character per byte)."""
    return b.decode("latin-1").translate(_LATIN1_TO_CANON)


def from_canonical(s: str) -> bytes:
    """Canonical string → bytes; raises TokenizerError on a character outside the alphabet."""
    t = s.translate(_CANON_TO_LATIN1)
    try:
        return t.encode("latin-1")
    except UnicodeEncodeError as e:
        bad = s[e.start]
        raise TokenizerError(
            f"{s!r}: character {bad!r} (U+{ord(bad):04X}) at {e.start} is not in the byte-level "
            f"alphabet"
        ) from None


def is_canonical(s: str) -> bool:
    """Whether every character of s is in the byte-level alphabet."""
    return all(c in CHAR_TO_BYTE for c in s)


def text_to_canonical(text: str) -> str:
    """Unicode text → canonical string of its UTF-8 bytes."""
    return to_canonical(text.encode("utf-8"))
