"""The one pre-tokenization (leading space, GPT-2-style split with combining marks, byte level) shared
by counting and tokenizing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Regex, decoders, normalizers, pre_tokenizers

from zett.tokenization.byte_alphabet import BYTE_TO_CHAR

from . import _onig_classes as _onig
from .char_classes import class_body

# GPT-2's split with `\p{M}` counted as part of letters: Devanagari/Bengali vowel signs and viramas
# are marks, and GPT-2's `\p{L}+` cuts words at every one of them. The saved tokenizer runs it in
# Oniguruma (inside `tokenizers`); counting and the collator run `PY_SPLIT`, the same pattern for
# Python's `re` (2× faster) with the three classes spelled out as Oniguruma's own code point ranges
# (char_classes.py), so both split identically — `regex`'s `\p{..}` tables are newer and differ on
# recently assigned characters (tests/sampling/test_pretokenize.py).
SPLIT_PATTERN = (
    r"'s|'t|'re|'ve|'m|'ll|'d| ?[\p{L}\p{M}]+| ?\p{N}+| ?[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+"
)


def _python_twin() -> re.Pattern:
    lm, n, ws = (class_body(r) for r in (_onig.LETTERS, _onig.NUMBERS, _onig.SPACES))
    return re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{lm}]+| ?[{n}]+| ?[^{ws}{lm}{n}]+|[{ws}]+(?![^{ws}])|[{ws}]+"
    )


PY_SPLIT = _python_twin()

# Every text gets one leading space (always, like SentencePiece's dummy prefix), so a word is
# spelled the same at the start of a text as inside it; the decoder strips it again.
PREFIX = " "

# Whitespace characters whose runs get dedicated pieces (as in the reference sampler): space,
# newline, tab.
WHITESPACE_CHARS: tuple[str, ...] = (
    BYTE_TO_CHAR[ord(" ")],
    BYTE_TO_CHAR[ord("\n")],
    BYTE_TO_CHAR[ord("\t")],
)


def split_words(text: str) -> list[str]:
    """Pre-tokens of `PREFIX + text` as Unicode strings (not yet byte level)."""
    return PY_SPLIT.findall(PREFIX + text)


def normalizer() -> normalizers.Normalizer:
    return normalizers.Prepend(PREFIX)


def pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """The same split followed by the byte-level mapping, for a saved `tokenizers.Tokenizer`."""
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def decoder() -> decoders.Decoder:
    return decoders.Sequence([decoders.ByteLevel(), decoders.Strip(PREFIX, 1, 0)])


@dataclass(frozen=True)
class PreTokenized:
    """A batch of texts as pre-tokens, deduplicated.

    `words[j]` is a unique pre-token in the byte-level alphabet, `counts[j]` how often it occurs in
    the batch ([n_words] int64), and `text_words[i]` the pre-token indices of text i in order
    ([n_pretokens_i] int32)."""

    words: tuple[str, ...]
    counts: np.ndarray
    text_words: tuple[np.ndarray, ...]

    def select(self, rows: slice) -> PreTokenized:
        """The texts `rows` alone, with only the pre-tokens they use (one host's share of a batch)."""
        text_words = self.text_words[rows]
        used = np.unique(np.concatenate(text_words)) if text_words else np.zeros(0, np.int64)
        new_id = np.full(len(self.words), -1, dtype=np.int64)
        new_id[used] = np.arange(len(used))
        text_words = tuple(new_id[t].astype(np.int32) for t in text_words)
        flat = np.concatenate(text_words) if text_words else np.zeros(0, np.int32)
        counts = np.bincount(flat, minlength=len(used)).astype(np.int64)
        return PreTokenized(tuple(self.words[i] for i in used.tolist()), counts, text_words)


def pre_tokenize(texts: Sequence[str]) -> PreTokenized:
    """Splits every text once; counting and encoding both work from the result."""
    index: dict[str, int] = {}
    text_words = []
    for text in texts:
        ids = [index.setdefault(w, len(index)) for w in split_words(text)]
        text_words.append(np.asarray(ids, dtype=np.int32))
    raw = list(index)
    counts = (
        np.bincount(np.concatenate(text_words), minlength=len(raw)).astype(np.int64)
        if raw
        else np.zeros(0, np.int64)
    )
    return PreTokenized(_canonical_words(raw), counts, tuple(text_words))


# byte → code point of its byte-level character, for a vectorised to_canonical over a whole batch
_BYTE_TO_CODE = np.asarray([ord(c) for c in BYTE_TO_CHAR], dtype=np.uint32)


def _canonical_words(words: list[str]) -> tuple[str, ...]:
    """`to_canonical(w.encode())` of every word, in one pass over the joined bytes instead of a dict
    lookup per byte."""
    encoded = [w.encode("utf-8") for w in words]
    joined = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    text = _BYTE_TO_CODE[joined].tobytes().decode("utf-32-le")
    out, at = [], 0
    for e in encoded:
        out.append(text[at : at + len(e)])
        at += len(e)
    return tuple(out)
