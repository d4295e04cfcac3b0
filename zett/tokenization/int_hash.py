"""A read-only open-addressing hash table from 64-bit integer keys to row numbers, looked up a whole
array at a time."""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(
    0x9E3779B97F4A7C15
)  # Fibonacci hashing: the top bits of key × 2^64/φ spread any key pattern


class IntHashTable:
    """`get(queries)` → the row of each query in `keys` (unique int64 or uint64), −1 where absent.

    `np.searchsorted` costs ~100 ns per unsorted query against tens of thousands of keys (a cache
    miss per level); with the table at most ¼ full a query needs ~1.2 probes, so a batch of them is
    a few vectorised gathers."""

    def __init__(self, keys: np.ndarray):
        keys = np.ascontiguousarray(keys)
        self.dtype = keys.dtype
        n = len(keys)
        self.bits = max(4, int(np.ceil(np.log2(max(n, 1) * 4))))
        self.mask = (1 << self.bits) - 1
        self.slot_key = np.zeros(1 << self.bits, dtype=keys.dtype)
        self.slot_row = np.full(1 << self.bits, -1, dtype=np.int64)
        pending, slot = np.arange(n), self._slot(keys)
        while len(
            pending
        ):  # linear probing; among keys that want the same free slot the lowest row takes it
            free = np.flatnonzero(self.slot_row[slot] < 0)
            taken, first = np.unique(slot[free], return_index=True)
            winners = free[first]
            self.slot_row[taken] = pending[winners]
            self.slot_key[taken] = keys[pending[winners]]
            left = np.ones(len(pending), dtype=bool)
            left[winners] = False
            pending, slot = pending[left], (slot[left] + 1) & self.mask

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64, copy=False) * _GOLDEN) >> np.uint64(64 - self.bits)).astype(
            np.int64
        )

    def get(self, queries: np.ndarray) -> np.ndarray:
        queries = np.asarray(queries, dtype=self.dtype)
        out = np.full(len(queries), -1, dtype=np.int64)
        todo, slot = np.arange(len(queries)), self._slot(queries)
        q = queries
        while len(todo):
            row = self.slot_row[slot]
            hit = (self.slot_key[slot] == q) & (row >= 0)
            out[todo[hit]] = row[hit]
            more = np.flatnonzero(
                (row >= 0) & ~hit
            )  # an occupied slot of another key: probe the next one
            todo, slot, q = todo[more], (slot[more] + 1) & self.mask, q[more]
        return out
