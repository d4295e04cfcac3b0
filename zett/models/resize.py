"""Growing and shrinking embedding tables; new rows from a chosen initialiser."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def mvn_rows(old: np.ndarray, n_new: int, seed: int = 0) -> np.ndarray:
    """Rows from N(mean, cov) of the old rows, as `transformers`' `resize_token_embeddings` does."""
    old64 = old.astype(np.float64)
    mean = old64.mean(0)
    centered = old64 - mean
    cov = centered.T @ centered / max(old64.shape[0], 1)
    rng = np.random.default_rng(seed)
    # transformers scales the covariance by 1e-9 so new tokens sit near the mean
    rows = rng.multivariate_normal(mean, cov * 1e-9, size=n_new, method="eigh")
    return rows.astype(old.dtype)


def resize_table(
    old: np.ndarray,
    new_size: int,
    init: Callable[[np.ndarray, int], np.ndarray] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """[old_vocab, embed] → [new_size, embed]; old rows kept bit-identical, extra rows from `init`."""
    if new_size <= old.shape[0]:
        return old[:new_size].copy()
    n_new = new_size - old.shape[0]
    extra = init(old, n_new) if init is not None else mvn_rows(old, n_new, seed)
    if extra.shape != (n_new, old.shape[1]):
        raise ValueError(f"initialiser returned {extra.shape}, expected {(n_new, old.shape[1])}")
    return np.concatenate([old, extra.astype(old.dtype)], axis=0)
