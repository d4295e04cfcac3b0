"""Byte-pair encoding of many short strings at once in numpy, merge for merge what `tokenizers`' BPE
model does.

Decomposing a sampled vocabulary means ~10k new 2–15-character strings per batch; `tokenizers`
spends ~9 µs on each (one `Encoding` object per string), which alone was a quarter of the collator's
budget. Here all strings sit in one `[n, width]` matrix of symbol ids and every round applies one
merge per string.

`tokenizers` (`Word::merge_all`) pops merges from a heap ordered by (rank, position of the left
symbol) and skips entries whose pair no longer exists; an entry can only go stale by its own symbols
changing, which changes the merged token's length and so its id, so the heap always applies the
valid pair of lowest rank, leftmost first. That is what each round here does. Duplicate merges keep
the last rank (`tokenizers` collects them into a map)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .int_hash import IntHashTable

_NONE = np.iinfo(np.int64).max  # rank of a pair that has no merge


class VectorBPE:
    """Built once from a BPE model as tokenizer.json spells it (`vocab` str → id, `merges`); no
    dropout, no continuing-subword prefix or end-of-word suffix (the byte-level models of
    `byte_level.py` have none)."""

    max_width = 32  # longer strings cost O(n × width) per round: leave them to `tokenizers`

    def __init__(self, model: Mapping[str, Any]):
        if (
            model.get("type") != "BPE"
            or model.get("dropout")
            or model.get("continuing_subword_prefix")
            or model.get("end_of_word_suffix")
        ):
            raise ValueError("VectorBPE takes a plain BPE model (no dropout, prefix or suffix)")
        vocab: Mapping[str, int] = model["vocab"]
        self.vocab = vocab
        self.ignore_merges = bool(model.get("ignore_merges"))
        chars = [t for t in vocab if len(t) == 1]
        self._char_id = np.full(max(map(ord, chars), default=0) + 1, -1, dtype=np.int64)
        self._char_id[[ord(c) for c in chars]] = [vocab[c] for c in chars]
        self._base = max(vocab.values(), default=0) + 1
        table: dict[int, tuple[int, int]] = {}
        for rank, m in enumerate(model.get("merges") or ()):
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            table[vocab[a] * self._base + vocab[b]] = (
                rank,
                vocab[a + b],
            )  # a later duplicate wins, as in tokenizers
        keys = np.fromiter(table.keys(), dtype=np.int64, count=len(table))
        values = np.asarray(list(table.values()), dtype=np.int64).reshape(-1, 2)
        # a sentinel row answers every pair without a merge
        self._ranks, self._new = np.append(values[:, 0], _NONE), np.append(values[:, 1], -1)
        self._table = IntHashTable(keys)
        # every first-round pair joins two characters: a dense table of their merges replaces the n
        # × width look-ups
        ids = self._char_id[self._char_id >= 0]
        self._pair_rank, self._pair_new = (
            a.reshape(len(ids), len(ids))
            for a in self._merge(np.repeat(ids, len(ids)), np.tile(ids, len(ids)))
        )
        self._char_slot = np.cumsum(self._char_id >= 0) - 1

    def supports(self, words: Sequence[str]) -> np.ndarray:
        """[n] bool: strings this encoder takes (non-empty, ≤ `max_width` characters, every character
        in the vocabulary)."""
        lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        ok = (lens > 0) & (lens <= self.max_width)
        codes = _codes("".join(words))
        known = codes < len(self._char_id)
        known[known] = self._char_id[codes[known]] >= 0
        bad_words = np.repeat(np.arange(len(words)), lens)[~known]
        ok[bad_words] = False
        return ok

    def _merge(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rank, new id) of each pair (a, b); rank `_NONE` where there is no merge (or a symbol is
        padding)."""
        at = self._table.get(a * self._base + b)
        at[(a < 0) | (b < 0)] = -1
        return self._ranks[at], self._new[at]  # −1: the sentinel

    def encode(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 concatenated, count per word int64) of strings `supports` accepts."""
        n = len(words)
        lens = np.fromiter(map(len, words), dtype=np.int64, count=n)
        if n == 0:
            return np.zeros(0, np.int64), lens
        w = int(lens.max())
        # flat [n × w] state: symbol, whether it is alive, the next/previous alive column in its row
        # (−1: none), and the rank / result of the pair it starts. Merging only touches the two
        # symbols involved.
        col = np.tile(np.arange(w), n)
        length = np.repeat(lens, w)
        alive = col < length
        sym = np.full(n * w, -1, dtype=np.int64)
        codes = _codes("".join(words))
        sym[alive] = self._char_id[codes]
        slot = np.zeros(n * w, dtype=np.int64)
        slot[alive] = self._char_slot[codes]
        if self.ignore_merges:
            whole = np.fromiter((self.vocab.get(x, -1) for x in words), dtype=np.int64, count=n)
            done = np.flatnonzero(whole >= 0)
            alive.reshape(n, w)[done, 1:] = False
            sym[done * w] = whole[done]
            length = np.repeat(np.where(whole >= 0, 1, lens), w)
        nxt = np.where(col + 1 < length, col + 1, -1)
        prv = col - 1
        rank = np.full(n * w, _NONE, dtype=np.int64)
        new = np.full(n * w, -1, dtype=np.int64)
        has = np.flatnonzero(nxt >= 0)
        rank[has], new[has] = (
            self._pair_rank[slot[has], slot[has + 1]],
            self._pair_new[slot[has], slot[has + 1]],
        )
        rows = np.arange(n)  # original word of each state row
        out_rows = []
        while True:
            m = len(rows)
            j = rank.reshape(m, w).argmin(axis=1)
            base = np.arange(m) * w
            live = rank[base + j] != _NONE
            if (
                live.sum() * 2 < m
            ):  # drop finished rows once they are the majority (amortised copying)
                out_rows.append((rows[~live], sym.reshape(m, w)[~live], alive.reshape(m, w)[~live]))
                keep = np.flatnonzero(live)
                rows, j, base = rows[keep], j[keep], np.arange(len(keep)) * w
                sym, alive, nxt, prv, rank, new = (
                    a.reshape(m, w)[keep].ravel() for a in (sym, alive, nxt, prv, rank, new)
                )
                live = np.ones(len(keep), dtype=bool)
                if not len(keep):
                    break
            act = np.flatnonzero(live)
            if not len(act):
                break
            b = base[act]
            p = b + j[act]
            k = b + nxt[p]  # the right symbol, absorbed into the left one
            sym[p] = new[p]
            alive[k] = False
            rank[k] = _NONE
            after = nxt[k]
            nxt[p] = after
            right = after >= 0
            prv[b[right] + after[right]] = j[act][right]
            rank[p[~right]], new[p[~right]] = _NONE, -1
            pr = p[right]
            rank[pr], new[pr] = self._merge(sym[pr], sym[b[right] + after[right]])
            before = prv[p]
            left = before >= 0
            q = b[left] + before[left]
            rank[q], new[q] = self._merge(sym[q], sym[p[left]])
        out_rows.append((rows, sym.reshape(len(rows), w), alive.reshape(len(rows), w)))
        order = np.concatenate([r for r, _, _ in out_rows])
        syms = np.concatenate([s for _, s, _ in out_rows])[np.argsort(order)]
        alives = np.concatenate([a for _, _, a in out_rows])[np.argsort(order)]
        return syms[alives], alives.sum(axis=1).astype(np.int64)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
