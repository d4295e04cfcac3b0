"""Heuristics that ignore a token's text: random, mean, mean + noise, multivariate normal."""

from __future__ import annotations

import numpy as np

from zett.heuristics.base import SourceEmbeddings, TargetEmbeddings, assemble
from zett.models.resize import mvn_rows
from zett.tokenization import CanonicalVocab


def random_init(
    source: SourceEmbeddings, target: CanonicalVocab, *, seed: int = 0, copy: bool = True
) -> TargetEmbeddings:
    """Per-dimension normal matching the source table's mean and std."""
    rng = np.random.default_rng(seed)

    def fill(_key, table, missing):
        t = table.astype(np.float64)
        return rng.normal(t.mean(0), t.std(0), size=(missing.size, table.shape[1]))

    return assemble(source, target, fill, copy, "random")


def mean_init(
    source: SourceEmbeddings, target: CanonicalVocab, *, seed: int = 0, copy: bool = True
) -> TargetEmbeddings:
    """Every new row is the mean source row."""
    return assemble(
        source,
        target,
        lambda _k, t, m: np.broadcast_to(t.mean(0), (m.size, t.shape[1])),
        copy,
        "mean",
    )


def mean_noise_init(
    source: SourceEmbeddings,
    target: CanonicalVocab,
    *,
    seed: int = 0,
    copy: bool = True,
    noise: float = 0.1,
) -> TargetEmbeddings:
    """Mean source row + N(0, (noise × per-dimension std)²)."""
    rng = np.random.default_rng(seed)

    def fill(_key, table, missing):
        t = table.astype(np.float64)
        return t.mean(0) + rng.normal(0.0, 1.0, (missing.size, t.shape[1])) * noise * t.std(0)

    return assemble(source, target, fill, copy, "mean_noise")


def mvn_init(
    source: SourceEmbeddings, target: CanonicalVocab, *, seed: int = 0, copy: bool = True
) -> TargetEmbeddings:
    """Multivariate normal of the old rows, as `transformers`' `resize_token_embeddings` (cov ×
    1e-9)."""
    return assemble(source, target, lambda _k, t, m: mvn_rows(t, m.size, seed), copy, "mvn")
