"""Paired bootstrap intervals for differences in bits per byte between methods scored on the same
documents."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A difference (method − reference, bits/byte over all documents) and its bootstrap interval."""

    diff: float
    low: float
    high: float

    @property
    def includes_zero(self) -> bool:
        return self.low <= 0.0 <= self.high


def bootstrap_indices(n_docs: int, samples: int = 1000, seed: int = 0) -> np.ndarray:
    """[samples, n_docs] document indices drawn with replacement; share them between every pair
    compared on the same documents, so all differences see the same resamples."""
    if n_docs < 1:
        raise ValueError("bootstrap over no documents")
    return np.random.default_rng(seed).integers(0, n_docs, size=(samples, n_docs))


def paired_difference(
    bits: np.ndarray,
    ref_bits: np.ndarray,
    doc_bytes: np.ndarray,
    indices: np.ndarray,
    level: float = 0.95,
) -> Interval:
    """bits, ref_bits, doc_bytes [n_docs] (the same bytes for both methods); indices from
    `bootstrap_indices`. The statistic is Σ bits / Σ bytes − Σ ref_bits / Σ bytes on each resample;
    the interval is its percentile interval."""
    bits, ref_bits = np.asarray(bits, np.float64), np.asarray(ref_bits, np.float64)
    doc_bytes = np.asarray(doc_bytes, np.float64)
    if not bits.shape == ref_bits.shape == doc_bytes.shape:
        raise ValueError(
            f"paired difference needs the same documents: {bits.shape}, {ref_bits.shape}, "
            f"{doc_bytes.shape}"
        )
    if indices.shape[1] != len(bits):
        raise ValueError(f"indices cover {indices.shape[1]} documents, not {len(bits)}")
    delta = bits - ref_bits
    resampled = delta[indices].sum(1) / doc_bytes[indices].sum(1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return Interval(float(delta.sum() / doc_bytes.sum()), float(low), float(high))
