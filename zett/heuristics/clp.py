"""CLP-Transfer (Ostendorff & Rehm 2023): each new token is the average of the base rows of all
shared tokens, weighted by their cosine similarity to it in a donor's embedding space.

As in the authors' code: weights = cos / Σ cos over every shared token (no softmax, no top-k;
negative similarities stay in), so they sum to 1. A token whose similarities sum to ≤ 0 (a
direction the shared tokens do not cover) has no such average; it gets the plain mean of the
shared rows (`info["n_uniform"]` counts them). The input table and an untied head are done
separately, each with the donor's matching table (a tied donor's head is its input table).
Shared tokens and specials mapped by role copy their base rows, as in every zett heuristic."""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm.auto import tqdm

from zett.heuristics.base import SourceEmbeddings, TargetEmbeddings, assemble
from zett.heuristics.donor import Donor, as_donor, donor_rows, require_rows
from zett.heuristics.omp import anchors
from zett.tokenization import CanonicalVocab


def _unit(x: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    x = np.asarray(x, dtype)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def clp_init(
    source: SourceEmbeddings,
    target: CanonicalVocab,
    *,
    seed: int = 0,
    copy: bool = True,
    donor: Donor | str | None = None,
    block: int = 512,
) -> TargetEmbeddings:
    """CLP-Transfer of `source` onto `target` with `donor` (a Donor, or an alias/path that
    `load_donor` reads), whose vocabulary must cover the target's; `block` new tokens at a time.

    Per block: cosines [block, n_shared] float32 (one matrix product), their row sums in float64,
    then cosines @ shared base rows [n_shared, width] float32, divided by the sums."""
    if not copy:
        raise ValueError("CLP averages the shared tokens' base rows; it cannot run with copy=False")
    donor = as_donor(donor, "clp")
    t_ids, s_ids = anchors(source, target)
    if t_ids.size == 0:
        raise ValueError("CLP: the base and target vocabularies share no token")
    rows_of = donor_rows(target, donor)
    require_rows(rows_of, t_ids, target, donor)
    info: dict[str, Any] = {"n_anchors": int(t_ids.size), "n_uniform": 0}

    def fill(key, table, missing):
        require_rows(rows_of, missing, target, donor)
        d_table = donor.table("output" if key == "output" else "input")
        shared = _unit(d_table[rows_of[t_ids]])  # [n_shared, donor_embed]
        base = np.ascontiguousarray(table[s_ids], dtype=np.float32)  # [n_shared, width]
        mean = base.mean(0, dtype=np.float64)
        n_uniform = 0
        for start in tqdm(
            range(0, missing.size, block), desc=f"clp {key}", disable=None, leave=False
        ):
            cos = _unit(d_table[rows_of[missing[start : start + block]]]) @ shared.T
            total = cos.sum(1, dtype=np.float64)
            rows = (cos @ base).astype(np.float64) / np.where(total > 0, total, 1.0)[:, None]
            bad = ~(total > 0)
            rows[bad] = mean
            n_uniform += int(bad.sum())
            yield rows
        if key == "input":
            info["n_uniform"] = n_uniform

    result = assemble(source, target, fill, copy, "clp")
    result.info.update(info)
    return result
