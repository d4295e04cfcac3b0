"""Surface forms remembered across batches: consecutive sampled vocabularies share most of their
pieces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zett.tokenization import Decomposer


class SurfaceCache:
    """Decomposes only pieces not seen before; rows live in preallocated arrays ([capacity, maxlen]
    int32).

    Vocabularies drawn from the same 16-batch window overlap heavily, so after a few batches nearly
    every piece is a hit. When `capacity` distinct pieces have been stored the cache starts afresh
    (bounded memory)."""

    def __init__(self, decomposer: Decomposer, capacity: int = 1 << 19):
        self.decomposer = decomposer
        self.capacity = capacity
        self._row: dict[str, int] = {}
        self._ids = np.zeros((capacity, decomposer.maxlen), dtype=np.int32)
        self._lengths = np.zeros(capacity, dtype=np.int32)
        self._full_lengths = np.zeros(capacity, dtype=np.int32)
        self._source_ids = np.full(
            capacity, -1, dtype=np.int32
        )  # the same bytes' source id (aux loss), −1 = none
        self.hits = self.misses = 0

    def __call__(self, pieces: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """Surface ids [n, maxlen] int32, lengths [n] int32 and how many of the n were truncated."""
        return self.lookup(pieces)[:3]

    def lookup(self, pieces: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        """`__call__` and the source id of each piece's own bytes ([n] int32, −1 where the source lacks
        it)."""
        get = self._row.get
        rows = np.fromiter((get(p, -1) for p in pieces), dtype=np.int64, count=len(pieces))
        missing = np.flatnonzero(rows < 0)
        if len(missing):
            new = list(dict.fromkeys(pieces[i] for i in missing.tolist()))
            if len(self._row) + len(new) > self.capacity:
                if len(new) > self.capacity:
                    raise ValueError(
                        f"{len(new)} new pieces exceed the surface cache capacity {self.capacity}"
                    )
                self._row.clear()
                self._ids[:] = 0
                return self.lookup(pieces)
            flat, full, own = self.decomposer.encode_flat_ids(new)
            start, m = len(self._row), self.decomposer.maxlen
            at = np.arange(start, start + len(new))
            col = np.arange(len(flat)) - np.repeat(np.cumsum(full) - full, full)
            keep = col < m
            self._ids[np.repeat(at, full)[keep], col[keep]] = flat[keep]
            self._lengths[at] = np.minimum(full, m)
            self._full_lengths[at] = full
            self._source_ids[at] = own
            self._row.update(zip(new, at.tolist()))
            rows[missing] = [self._row[pieces[i]] for i in missing.tolist()]
        self.hits += len(pieces) - len(missing)
        self.misses += len(missing)
        n_truncated = int((self._full_lengths[rows] > self.decomposer.maxlen).sum())
        return self._ids[rows], self._lengths[rows], n_truncated, self._source_ids[rows]
