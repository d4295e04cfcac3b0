"""Identity reconstruction: how well predicted rows reproduce the source rows of tokens the source
already has (the rows FVT or `copy_overlap` would simply copy)."""

from __future__ import annotations

import numpy as np


def reconstruction_stats(predicted: np.ndarray, source: np.ndarray) -> dict[str, float]:
    """Row-wise agreement of predicted [n, embed] with source [n, embed] rows: cosine (mean, 5th
    percentile) and relative error ‖p − s‖ / ‖s‖ (mean, median); `n` rows. Zero rows count as cosine
    0 / relative error ‖p‖ / ε rather than NaN."""
    if predicted.shape != source.shape:
        raise ValueError(f"predicted {predicted.shape} and source {source.shape} rows differ")
    n = int(predicted.shape[0])
    if n == 0:
        return {"n": 0}
    p = np.asarray(predicted, np.float64)
    s = np.asarray(source, np.float64)
    p_norm, s_norm = np.linalg.norm(p, axis=1), np.linalg.norm(s, axis=1)
    cos = (p * s).sum(1) / np.maximum(p_norm * s_norm, 1e-12)
    rel = np.linalg.norm(p - s, axis=1) / np.maximum(s_norm, 1e-12)
    return {
        "n": n,
        "cosine_mean": float(cos.mean()),
        "cosine_p05": float(np.percentile(cos, 5)),
        "rel_error_mean": float(rel.mean()),
        "rel_error_median": float(np.median(rel)),
    }
