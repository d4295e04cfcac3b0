"""Unigram Viterbi over a batch's unique pre-tokens in numpy, bit-identical to `tokenizers`' Unigram
model.

`tokenizers` spends ~1 µs per byte here on byte-level CJK text (its trie hashes every UTF-8 byte of
the byte-level characters) plus ~0.1–0.3 s to build the model from 32k pieces; both would be paid on
every batch. This does the same dynamic programme vectorised across all words: candidate pieces are
found by hashing substrings (the FNV-1a keys of `substrings.py`) against the vocabulary's sorted
keys, and the forward pass runs once per byte offset. It reproduces `Unigram::encode_optimized`
exactly: f64 sums `score + best_so_far`, and among equal scores the piece that starts earliest (the
longest) wins, as its strict `>` over ascending starts does."""

from __future__ import annotations

import numpy as np

from .encode import WordIds
from .pretokenize import PreTokenized
from .substrings import _CODE_TO_BYTE, _FNV_OFFSET, _FNV_PRIME, SubstringOccurrences
from .unigram import SampledVocab


def _byte_array(text: str) -> np.ndarray:
    return _CODE_TO_BYTE[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]


def _fnv(joined: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """FNV-1a key of each slice `joined[starts[i] : starts[i] + lengths[i]]` ([n] uint64)."""
    h = np.full(len(starts), _FNV_OFFSET, dtype=np.uint64)
    for n in range(int(lengths.max(initial=0))):
        live = np.flatnonzero(lengths > n)
        h[live] = (h[live] ^ joined[starts[live] + n].astype(np.uint64)) * _FNV_PRIME
    return h


class VocabIndex:
    """The regular pieces of a sampled vocabulary, keyed for substring look-up (specials never
    match)."""

    def __init__(self, vocab: SampledVocab):
        # all pieces hashed in one pass over their joined text; the specials' own text (possibly
        # outside the byte alphabet) is blanked first and their rows dropped after
        special = np.zeros(vocab.size, dtype=bool)
        special[vocab.special_ids] = True
        all_lengths = np.fromiter(map(len, vocab.pieces), dtype=np.int64, count=vocab.size)
        all_starts = np.cumsum(all_lengths) - all_lengths
        codes = np.frombuffer("".join(vocab.pieces).encode("utf-32-le"), dtype=np.uint32)
        codes = np.where(np.repeat(special, all_lengths), 0, codes)
        byte = _CODE_TO_BYTE[codes]
        regular = np.flatnonzero(~special)
        lengths, starts = all_lengths[regular], all_starts[regular]
        keys = _fnv(byte, starts, lengths)
        order = np.argsort(keys)
        self.keys, self.ids, self.lengths = keys[order], regular[order], lengths[order]
        self.scores = vocab.scores[self.ids]
        self.max_len = int(lengths.max(initial=1))
        single = lengths == 1
        self.byte_id = np.full(256, -1, dtype=np.int64)
        self.byte_id[byte[starts[single]]] = regular[single]
        if (self.byte_id < 0).any():
            raise ValueError("the vocabulary lacks single-byte pieces; every byte must be a piece")

    def lookup(self, keys: np.ndarray, n: int) -> np.ndarray:
        """Vocabulary row of each key of an n-byte substring, −1 where absent ([m] int64)."""
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = (self.keys[pos] == keys) & (self.lengths[pos] == n)
        return np.where(hit, pos, -1)


def _found_by_row(index: VocabIndex, occ: SubstringOccurrences):
    """(starts, lengths, index rows) of the occurrences that are vocabulary pieces: a piece's row in
    the batch's sorted stats is found once (~30k sorted searches), then every occurrence maps by its
    stats row."""
    at = np.minimum(np.searchsorted(occ.keys, index.keys), max(len(occ.keys) - 1, 0))
    present = (
        (occ.keys[at] == index.keys) if len(occ.keys) else np.zeros(len(index.keys), dtype=bool)
    )
    row_of_stat = np.full(len(occ.keys), -1, dtype=np.int64)
    row_of_stat[at[present]] = np.flatnonzero(present)
    r = row_of_stat[occ.rows]
    lengths = occ.lengths.astype(np.int64)
    found = r >= 0
    found[found] = (
        index.lengths[r[found]] == lengths[found]
    )  # as `lookup`: same key and same length
    yield occ.starts[found], lengths[found], r[found]
    olen = occ.other_lengths.astype(np.int64)
    r = np.full(len(olen), -1, dtype=np.int64)
    for n in np.unique(olen).tolist():
        sel = np.flatnonzero(olen == n)
        r[sel] = index.lookup(occ.other_keys[sel], n)
    found = r >= 0
    yield occ.other_starts[found], olen[found], r[found]


def viterbi_encode(
    vocab: SampledVocab,
    pre: PreTokenized,
    char_aligned: bool = True,
    index: VocabIndex | None = None,
    occurrences: SubstringOccurrences | None = None,
) -> WordIds:
    """Segments every unique pre-token of `pre`; `char_aligned` says pieces ≥ 2 bytes start and end on
    character boundaries (true of vocabularies sampled with `SamplerConfig.char_aligned`), which
    prunes the look-ups. `occurrences` of the same words (`count_occurrences`) replace hashing and
    searching every substring."""
    index = index or VocabIndex(vocab)
    n_words = len(pre.words)
    byte = _byte_array("".join(pre.words))
    n_bytes = len(byte)
    lens = np.fromiter(map(len, pre.words), dtype=np.int64, count=n_words)
    word_start = np.cumsum(lens) - lens
    end_of = np.repeat(word_start + lens, lens)
    m = index.max_len

    # edges: every (start byte p, length n) whose piece the vocabulary has — single bytes everywhere
    row_of_id = np.full(vocab.size, -1, dtype=np.int64)
    row_of_id[index.ids] = np.arange(len(index.ids))
    e_start, e_len, e_row = (
        [np.arange(n_bytes)],
        [np.ones(n_bytes, dtype=np.int64)],
        [row_of_id[index.byte_id[byte]]],
    )
    if (
        occurrences is not None
        and occurrences.char_aligned == char_aligned
        and occurrences.max_len >= m
    ):
        for start, n, r in _found_by_row(index, occurrences):
            e_start.append(start)
            e_len.append(n)
            e_row.append(r)
    else:
        is_start = (byte & 0xC0) != 0x80 if char_aligned else np.ones(n_bytes, dtype=bool)
        ends_ok = np.append(is_start, True)
        pos = np.flatnonzero(is_start)
        h = (
            np.full(len(pos), _FNV_OFFSET, dtype=np.uint64) ^ byte[pos].astype(np.uint64)
        ) * _FNV_PRIME
        for n in range(2, m + 1):
            live = pos + n <= end_of[pos]
            pos, h = pos[live], h[live]
            if len(pos) == 0:
                break
            h = (h ^ byte[pos + (n - 1)].astype(np.uint64)) * _FNV_PRIME
            ok = ends_ok[pos + n]
            r = index.lookup(h[ok], n)
            found = r >= 0
            e_start.append(pos[ok][found])
            e_len.append(np.full(int(found.sum()), n, dtype=np.int64))
            e_row.append(r[found])
    p, length, row = np.concatenate(e_start), np.concatenate(e_len), np.concatenate(e_row)

    # forward pass over the end offset j of pieces, all words at once. Word w owns the contiguous
    # nodes word_start[w] + w + (0 .. lens[w]): the node of the boundary before byte p is p +
    # word_of(p).
    word_of = np.repeat(np.arange(n_words), lens)
    src = p + word_of[p]
    dst = src + length
    score = index.scores[row]
    end_offset = p - word_start[word_of[p]] + length
    max_len = int(lens.max(initial=0))
    order = np.argsort(
        end_offset.astype(np.uint16 if max_len < 1 << 16 else np.int64), kind="stable"
    )
    bounds = np.searchsorted(end_offset[order], np.arange(1, max_len + 2))
    best = np.zeros(n_bytes + n_words, dtype=np.float64)
    back = np.zeros(n_bytes + n_words, dtype=np.int64)  # length of the chosen last piece
    back_row = np.zeros(n_bytes + n_words, dtype=np.int64)  # its vocabulary row
    for j in range(max_len):
        sl = order[bounds[j] : bounds[j + 1]]
        d = dst[sl]
        cand = best[src[sl]] + score[sl]
        best[d] = -np.inf
        np.maximum.at(best, d, cand)
        # among the best candidates of a node, the longest piece (the earliest start) wins, like the
        # strict `>`
        win = np.flatnonzero(cand == best[d])
        np.maximum.at(back, d[win], length[sl[win]])
        chosen = win[length[sl[win]] == back[d[win]]]
        back_row[d[chosen]] = row[sl[chosen]]

    # backtrack from each word's end, collecting pieces last to first
    counts = np.zeros(n_words, dtype=np.int64)
    offset = lens.copy()
    steps_rows, steps_words = [], []
    active = np.flatnonzero(lens > 0)
    while len(active):
        at = word_start[active] + active + offset[active]
        offset[active] -= back[at]
        steps_rows.append(back_row[at])
        steps_words.append(active)
        counts[active] += 1
        active = active[offset[active] > 0]
    starts = np.cumsum(counts) - counts
    ids = np.empty(int(counts.sum()), dtype=np.int64)
    done = np.zeros(n_words, dtype=np.int64)
    for r, w in zip(steps_rows, steps_words):
        done[w] += 1
        ids[starts[w] + counts[w] - done[w]] = index.ids[r]
    return WordIds(ids, starts, counts)
