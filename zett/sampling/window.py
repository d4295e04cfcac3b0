"""FIFO window over the substring statistics of the last N batches, kept as one merged, key-sorted table."""

from __future__ import annotations

from collections import deque

import numpy as np

from .substrings import SubstringStats


class SubstringWindow:
    """Running sums of the scores of the last `size` batches (the current one included once pushed).

    The merged table is sorted by key and updated in O(table) per batch (a sorted merge in, a sorted subtraction
    out) instead of re-aggregating 16 batches every step. Each row points at the newest batch that contains it
    (`slot`, `start`), so a row's string stays readable exactly as long as the row is alive.
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"window size must be ≥ 1, got {size}")
        self.size = size
        self._batches: deque[tuple[int, SubstringStats]] = deque()
        self._serial = 0
        self.keys = np.zeros(0, np.uint64)
        self.scores = np.zeros(0, np.int64)
        self.lengths = np.zeros(0, np.uint8)
        self.slots = np.zeros(0, np.int64)
        self.starts = np.zeros(0, np.int64)
        self.total = 0

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def n_batches(self) -> int:
        return len(self._batches)

    def push(self, stats: SubstringStats) -> None:
        """Adds a batch; drops the oldest when more than `size` are held."""
        serial = self._serial
        self._serial += 1
        self._add(stats, serial)
        self._batches.append((serial, stats))
        self.total += stats.total
        while len(self._batches) > self.size:
            _, old = self._batches.popleft()
            self._remove(old)
            self.total -= old.total

    def strings(self, rows: np.ndarray) -> list[str]:
        texts = {serial: stats.text for serial, stats in self._batches}
        slots, starts, lengths = self.slots[rows], self.starts[rows], self.lengths[rows]
        return [texts[s][a : a + n] for s, a, n in zip(slots.tolist(), starts.tolist(), lengths.tolist())]

    def _add(self, b: SubstringStats, serial: int) -> None:
        pos = np.searchsorted(self.keys, b.keys)
        hit = pos < len(self.keys)
        hit[hit] = self.keys[pos[hit]] == b.keys[hit]
        at = pos[hit]
        self.scores[at] += b.scores[hit]
        self.slots[at] = serial
        self.starts[at] = b.starts[hit]
        new = ~hit
        where = pos[new]
        self.keys = np.insert(self.keys, where, b.keys[new])
        self.scores = np.insert(self.scores, where, b.scores[new])
        self.lengths = np.insert(self.lengths, where, b.lengths[new])
        self.slots = np.insert(self.slots, where, serial)
        self.starts = np.insert(self.starts, where, b.starts[new])

    def _remove(self, b: SubstringStats) -> None:
        pos = np.searchsorted(self.keys, b.keys)
        self.scores[pos] -= b.scores
        dead = pos[self.scores[pos] == 0]
        if len(dead):
            keep = np.ones(len(self.keys), dtype=bool)
            keep[dead] = False
            self.keys, self.scores, self.lengths = self.keys[keep], self.scores[keep], self.lengths[keep]
            self.slots, self.starts = self.slots[keep], self.starts[keep]
