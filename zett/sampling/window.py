"""FIFO window over the substring statistics of the last N batches, kept as one merged, key-sorted
table."""

from __future__ import annotations

from collections import deque

import numpy as np

from .substrings import SubstringStats


class SubstringWindow:
    """Running sums of the scores of the last `size` batches (the current one included once pushed).

    The merged table is sorted by key and updated in O(table) per batch (a sorted merge in, a sorted
    subtraction out) instead of re-aggregating 16 batches every step. Each row points at the newest
    batch that contains it (slot, start, length, packed into one int64 `locs` so a push moves three
    columns, not five), so a row's string stays readable exactly as long as the row is alive."""

    def __init__(self, size: int):
        if not 1 <= size < _SLOTS:
            raise ValueError(f"window size must be in [1, {_SLOTS}), got {size}")
        self.size = size
        self._batches: deque[tuple[int, SubstringStats]] = deque()
        self._serial = 0
        self.keys = np.zeros(0, np.uint64)
        self.scores = np.zeros(0, np.int64)
        self.locs = np.zeros(0, np.int64)  # slot << 40 | length << 32 | start
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

    @property
    def lengths(self) -> np.ndarray:
        return ((self.locs >> 32) & 0xFF).astype(np.uint8)

    @property
    def slots(self) -> np.ndarray:
        return self.locs >> 40

    @property
    def starts(self) -> np.ndarray:
        return self.locs & 0xFFFFFFFF

    def strings(self, rows: np.ndarray) -> list[str]:
        texts = {serial % _SLOTS: stats.text for serial, stats in self._batches}
        locs = self.locs[rows]
        slots, starts, lengths = locs >> 40, locs & 0xFFFFFFFF, (locs >> 32) & 0xFF
        return [
            texts[s][a : a + n]
            for s, a, n in zip(slots.tolist(), starts.tolist(), lengths.tolist())
        ]

    def _add(self, b: SubstringStats, serial: int) -> None:
        if len(b) and (int(b.starts.max()) >= 1 << 32 or int(b.lengths.max()) > 0xFF):
            raise ValueError("a batch's text is too long for the window's 32-bit offsets")
        locs = (
            ((serial % _SLOTS) << 40)
            | (b.lengths.astype(np.int64) << 32)
            | b.starts.astype(np.int64)
        )
        n = len(self.keys)
        pos = np.searchsorted(self.keys, b.keys)
        hit = (self.keys[np.minimum(pos, n - 1)] == b.keys) if n else np.zeros(len(pos), dtype=bool)
        at = pos[hit]
        self.scores[at] += b.scores[hit]
        self.locs[at] = locs[hit]
        new = ~hit
        # b.keys are sorted, so the insertion points are too: new row i lands at where[i] + i
        # (np.insert would sort them again for every column)
        dest = pos[new] + np.arange(int(new.sum()))
        is_old = np.ones(n + len(dest), dtype=bool)
        is_old[dest] = False
        out = []
        for old, add in (
            (self.keys, b.keys[new]),
            (self.scores, b.scores[new]),
            (self.locs, locs[new]),
        ):
            col = np.empty(len(is_old), dtype=old.dtype)
            col[is_old] = old
            col[dest] = add
            out.append(col)
        self.keys, self.scores, self.locs = out

    def _remove(self, b: SubstringStats) -> None:
        pos = np.searchsorted(self.keys, b.keys)
        self.scores[pos] -= b.scores
        dead = pos[self.scores[pos] == 0]
        if len(dead):
            keep = np.ones(len(self.keys), dtype=bool)
            keep[dead] = False
            self.keys, self.scores, self.locs = self.keys[keep], self.scores[keep], self.locs[keep]


_SLOTS = 1 << 23  # batch serials are kept modulo this in `locs` (a window holds far fewer batches)
