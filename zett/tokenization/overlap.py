"""Overlap between two canonical vocabularies (exact byte match) and special-token mapping by role."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .canonical import CanonicalVocab


@dataclass(frozen=True)
class Overlap:
    """Regular tokens present in both vocabularies: `target_ids[k]` ↔ `source_ids[k]` (int32
    `[n_shared]`)."""

    target_ids: np.ndarray
    source_ids: np.ndarray
    n_target: int
    n_source: int

    @property
    def size(self) -> int:
        return int(self.target_ids.size)

    @property
    def target_fraction(self) -> float:
        """Share of the target's regular tokens that the source has verbatim."""
        return self.size / max(self.n_target, 1)


def overlap(target: CanonicalVocab, source: CanonicalVocab) -> Overlap:
    """Exact canonical matches between regular (non-special, non-shadowed) tokens."""
    sindex = source._index
    pairs = [(i, sindex[t]) for t, i in target._index.items() if t in sindex]
    pairs.sort()
    arr = np.asarray(pairs, dtype=np.int32).reshape(-1, 2)
    return Overlap(arr[:, 0].copy(), arr[:, 1].copy(), len(target._index), len(source._index))


def map_specials(target: CanonicalVocab, source: CanonicalVocab) -> dict[int, int]:
    """Target special id → source special id: same primary role, then any shared role, then identical
    text.

    "control" is not a role to match on (it only says "special, purpose unknown"); such tokens match
    by text."""
    out: dict[int, int] = {}
    by_text = {s.token: s.id for s in source.specials}
    for t in target.specials:
        hit = None
        if t.role != "control":
            hit = next((s.id for s in source.specials if s.role == t.role), None)
            if hit is None:
                hit = next(
                    (
                        s.id
                        for s in source.specials
                        for r in t.roles
                        if r != "control" and r in s.roles
                    ),
                    None,
                )
        if hit is None:
            hit = by_text.get(t.token)
        if hit is not None:
            out[t.id] = hit
    return out
