"""Substring statistics of a text batch (every substring of 1–15 bytes inside each pre-token),
vectorised with numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zett.tokenization.byte_alphabet import BYTE_TO_CHAR

from .pretokenize import WHITESPACE_CHARS

# byte-level character code point → byte value; the alphabet spans U+0021..U+0143.
_CODE_TO_BYTE = np.zeros(max(map(ord, BYTE_TO_CHAR)) + 1, dtype=np.uint8)
_CODE_TO_BYTE[[ord(c) for c in BYTE_TO_CHAR]] = np.arange(256, dtype=np.uint8)
_IS_WHITESPACE_BYTE = np.zeros(256, dtype=bool)
_IS_WHITESPACE_BYTE[[_CODE_TO_BYTE[ord(c)] for c in WHITESPACE_CHARS]] = True

# 64-bit FNV-1a, one byte per step: numpy's uint64 arithmetic wraps, which is the modulus FNV wants.
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class SubstringStats:
    """Scores of the candidate substrings of one batch.

    Rows are unique and sorted by `keys` ([n] uint64, a 64-bit FNV-1a hash of the bytes; with ~10^7
    distinct substrings in a window the chance of any collision is ~10^-5, and a collision only
    merges two counts). `scores` ([n] int64) = occurrences × byte length; the substring is
    `text[starts[j] : starts[j] + lengths[j]]` in the byte-level alphabet. Only substrings the
    vocabulary may take are kept (≥ 2 bytes, < 2 whitespace characters — single bytes and whitespace
    runs get their own pieces), but `total` sums the scores of all of them, single bytes included,
    so that p = score / total matches the reference."""

    keys: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray
    starts: np.ndarray
    text: str
    total: int

    def __len__(self) -> int:
        return len(self.keys)

    def strings(self, rows: np.ndarray | Sequence[int]) -> list[str]:
        text, starts, lengths = self.text, self.starts, self.lengths
        return [text[starts[j] : starts[j] + lengths[j]] for j in rows]


@dataclass(frozen=True)
class SubstringOccurrences:
    """Where the substrings of a batch occur, for the encoder: the same hashing and look-up over the
    same words, so it can find vocabulary pieces by row instead of searching for ~10^6 keys again.

    Kept occurrences (those `SubstringStats` scores) start at byte `starts[i]` of the joined words,
    span `lengths[i]` bytes and are row `rows[i]` of the stats (whose sorted keys are `keys`); the
    rest (≥ 2 bytes with ≥ 2 whitespace bytes, only whitespace-run pieces can match them) keep their
    hash in `other_keys`."""

    keys: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    rows: np.ndarray
    other_starts: np.ndarray
    other_lengths: np.ndarray
    other_keys: np.ndarray
    max_len: int
    char_aligned: bool


def count_substrings(
    words: Sequence[str], counts: np.ndarray, max_len: int = 15, char_aligned: bool = True
) -> SubstringStats:
    """Counts every substring of 1..`max_len` bytes inside each of `words` (unique byte-level
    pre-tokens, each occurring `counts[j]` times), from every start position.

    With `char_aligned` a substring must start and end on UTF-8 character boundaries (a 3-byte CJK
    character is one unit, never split into pieces that no text could produce on their own); lengths
    are still bytes."""
    return _count(words, counts, max_len, char_aligned, False)[0]


def count_occurrences(
    words: Sequence[str], counts: np.ndarray, max_len: int = 15, char_aligned: bool = True
) -> tuple[SubstringStats, SubstringOccurrences]:
    """`count_substrings` and where each substring occurs (`SubstringOccurrences`)."""
    return _count(words, counts, max_len, char_aligned, True)  # type: ignore[return-value]


def _count(
    words: Sequence[str], counts: np.ndarray, max_len: int, char_aligned: bool, occurrences: bool
) -> tuple[SubstringStats, SubstringOccurrences | None]:
    text = "".join(words)
    n_bytes = len(text)
    if n_bytes == 0:
        empty, none = np.zeros(0, np.uint64), np.zeros(0, np.int64)
        stats = SubstringStats(empty, none, np.zeros(0, np.uint8), none, text, 0)
        return stats, (
            SubstringOccurrences(empty, none, none, none, none, none, empty, max_len, char_aligned)
            if occurrences
            else None
        )
    byte = _CODE_TO_BYTE[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]  # [n_bytes]
    lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    word_of = np.repeat(np.arange(len(words)), lens)  # [n_bytes]
    end_of = np.cumsum(lens)[word_of]  # exclusive end of the word holding each byte
    weight = np.asarray(counts, dtype=np.int64)[word_of]

    if char_aligned:
        is_start = (byte & 0xC0) != 0x80  # not a UTF-8 continuation byte
    else:
        is_start = np.ones(n_bytes, dtype=bool)
    # a substring may end at position e when e starts a character (or is the end of the text); word
    # ends always are, since every word is whole UTF-8.
    ends_ok = np.append(is_start, True)
    ws_cum = np.concatenate(
        [[0], np.cumsum(_IS_WHITESPACE_BYTE[byte])]
    )  # whitespace bytes before each position
    word_end = np.cumsum(lens)
    multi_ws = bool(((ws_cum[word_end] - ws_cum[word_end - lens]) >= 2).any())

    pos = np.flatnonzero(is_start)  # live start positions, shrinking as n grows
    h = np.full(len(pos), _FNV_OFFSET, dtype=np.uint64)
    total = 0
    keys, scores, starts, lengths = [], [], [], []
    other_starts, other_lengths, other_keys = [], [], []
    for n in range(1, max_len + 1):
        live = pos + n <= end_of[pos]
        pos, h = pos[live], h[live]
        if len(pos) == 0:
            break
        h = (h ^ byte[pos + (n - 1)].astype(np.uint64)) * _FNV_PRIME
        emit = ends_ok[pos + n]
        p, k = pos[emit], h[emit]
        w = weight[p]
        total += int(w.sum()) * n
        if n < 2:
            continue
        if not multi_ws:  # no word holds two whitespace bytes: every substring is a candidate
            keys.append(k)
            scores.append(w * n)
            starts.append(p)
            lengths.append(np.full(len(p), n, dtype=np.uint8))
            continue
        keep = (ws_cum[p + n] - ws_cum[p]) < 2
        keys.append(k[keep])
        scores.append(w[keep] * n)
        starts.append(p[keep])
        lengths.append(np.full(int(keep.sum()), n, dtype=np.uint8))
        if occurrences and not keep.all():
            other_starts.append(p[~keep])
            other_lengths.append(np.full(int((~keep).sum()), n, dtype=np.uint8))
            other_keys.append(k[~keep])
    cat = lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype)  # noqa: E731
    all_keys, all_starts, all_lengths = (
        cat(keys, np.uint64),
        cat(starts, np.int64),
        cat(lengths, np.uint8),
    )
    stats, rows = _reduce(
        all_keys, cat(scores, np.int64), all_lengths, all_starts, text, total, occurrences
    )
    if not occurrences:
        return stats, None
    occ = SubstringOccurrences(
        stats.keys,
        all_starts,
        all_lengths,
        rows,
        cat(other_starts, np.int64),
        cat(other_lengths, np.uint8),
        cat(other_keys, np.uint64),
        max_len,
        char_aligned,
    )
    return stats, occ


def _reduce(
    keys, scores, lengths, starts, text: str, total: int, inverse: bool = False
) -> tuple[SubstringStats, np.ndarray | None]:
    """Sums the scores of equal keys; keeps the first occurrence's position; optionally each input's
    output row."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    heads = np.flatnonzero(first)
    summed = np.add.reduceat(scores[order], heads) if len(heads) else np.zeros(0, np.int64)
    rows = order[heads]
    inv = None
    if inverse:
        inv = np.empty(len(keys), dtype=np.int64)
        inv[order] = np.cumsum(first) - 1
    return SubstringStats(
        keys[heads], summed.astype(np.int64), lengths[rows], starts[rows], text, total
    ), inv


def merge_stats(parts: Sequence[SubstringStats]) -> SubstringStats:
    """The statistics of consecutive slices of one batch (`parts` in batch order) merged into those
    of the whole batch, as `count_substrings` of all its texts gives them: equal keys add their
    scores, totals add, and each key keeps the occurrence the whole count keeps — the shortest, then
    the earliest part's (a slice's words are in the whole batch's order of first appearance, so its
    first occurrence is the batch's). Hosts that each count their own texts and merge everyone's
    statistics therefore draw the very tokenizer one host counting everything draws.

    Sorting the parts' concatenated keys is a merge of already sorted runs (timsort), so a merge
    costs about a pass over the parts, not a sort of every occurrence."""
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [len(p.text) for p in parts[:-1]])
    keys = np.concatenate([p.keys for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    lengths = np.concatenate([p.lengths for p in parts])
    starts = np.concatenate([p.starts + off for p, off in zip(parts, offsets.tolist())])
    total = sum(p.total for p in parts)
    text = "".join(p.text for p in parts)
    if len(keys) == 0:
        return SubstringStats(keys, scores, lengths, starts, text, total)
    order = np.argsort(keys, kind="stable")  # equal keys stay in part order
    sorted_keys = keys[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    heads = np.flatnonzero(first)
    summed = np.add.reduceat(scores[order], heads)
    # a key's rows differ in length only on a hash collision; the first row of the shortest wins
    sorted_lengths = lengths[order]
    group = np.cumsum(first) - 1
    shortest = sorted_lengths == np.minimum.reduceat(sorted_lengths, heads)[group]
    candidates = np.flatnonzero(shortest)
    firsts = np.ones(len(candidates), dtype=bool)
    firsts[1:] = group[candidates[1:]] != group[candidates[:-1]]
    rows = order[candidates[firsts]]
    return SubstringStats(
        sorted_keys[heads], summed.astype(np.int64), lengths[rows], starts[rows], text, total
    )


_HEADER = np.dtype([("rows", "<i8"), ("text_bytes", "<i8"), ("total", "<i8")])


def stats_to_bytes(stats: SubstringStats) -> bytes:
    """A compact, platform-independent encoding of `stats` (what hosts exchange each step)."""
    text = stats.text.encode("utf-8")
    header = np.array([(len(stats), len(text), stats.total)], dtype=_HEADER)
    return b"".join(
        (
            header.tobytes(),
            np.ascontiguousarray(stats.keys, "<u8").tobytes(),
            np.ascontiguousarray(stats.scores, "<i8").tobytes(),
            np.ascontiguousarray(stats.starts, "<i8").tobytes(),
            np.ascontiguousarray(stats.lengths, np.uint8).tobytes(),
            text,
        )
    )


def stats_from_bytes(data: bytes) -> SubstringStats:
    """The inverse of `stats_to_bytes` (arrays are read-only views of `data`)."""
    header = np.frombuffer(data, _HEADER, count=1)[0]
    n, n_text, total = int(header["rows"]), int(header["text_bytes"]), int(header["total"])
    at = _HEADER.itemsize

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal at
        out = np.frombuffer(data, dtype, count=count, offset=at)
        at += out.nbytes
        return out

    keys, scores, starts = take("<u8", n), take("<i8", n), take("<i8", n)
    lengths = take("u1", n)
    if at + n_text != len(data):
        raise ValueError(f"substring statistics of {len(data)} bytes are truncated or padded")
    text = bytes(data[at:]).decode("utf-8")
    return SubstringStats(
        keys.astype(np.uint64, copy=False),
        scores.astype(np.int64, copy=False),
        lengths.astype(np.uint8, copy=False),
        starts.astype(np.int64, copy=False),
        text,
        total,
    )
