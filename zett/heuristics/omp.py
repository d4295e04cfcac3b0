"""OMP donor transplant (Goddard & Fernandes Neto 2025, mergekit's `tokensurgeon`): each new token
is a sparse combination of shared tokens, found in a donor's embedding space and replayed in the
base model's.

Shared tokens (same bytes in the base vocabulary and the donor's, which is the target's) copy their
base row. Every other target token t is approximated in the donor's table by orthogonal matching
pursuit over the shared tokens' donor rows (the atoms): pick the atom with the largest
|<residual, atom>|, refit all chosen coefficients by least squares, repeat up to k times. The same
coefficients then combine the base rows of the chosen shared tokens. Input embeddings and the output
head are fitted separately, each in the donor's matching table (a tied donor's head is its input
table).

Cost. Exact OMP scores every atom at every step: n_new · k · n_shared · embed multiply-adds, for
SmolLM2 → Gemma-3's tokenizer 216k · 64 · 46k · 640 ≈ 4·10^14. So the pursuit scores all atoms only
every `refresh` steps and keeps each token's `pool` best; the steps in between pick among that
pool, scored exactly through its Gram entries. refresh=1 is exact OMP. Measured there
(benchmarks/omp_speed.py, shared 2-core machine): 12-29 CPU-ms per new token with the defaults
(refresh 8, pool 64), i.e. 45-100 CPU-minutes for Gemma-3's vocabulary, against 75 for exact
OMP (4.5 CPU-hours); refresh=16, pool=128 halves the scoring. Donor-space relative residual on
256 tokens: exact 0.360, defaults 0.371, refresh 16 / pool 256 0.399. OMP's path is fragile: runs
this close in residual share only ~20% of their atoms and their base-space rows have cosine ~0.8,
so the residual, not the atom set, is the measure of a run.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from zett.heuristics.base import SourceEmbeddings, TargetEmbeddings, assemble
from zett.heuristics.donor import Donor, as_donor, donor_rows, require_rows
from zett.tokenization import CanonicalVocab, overlap

DEFAULT_K = 64  # mergekit's default sparsity
DEFAULT_REFRESH = 8
DEFAULT_POOL = 64
# An atom whose squared part outside the span of the chosen ones is below this fraction of its
# squared norm is taken as inside it (a duplicate, or the residual is already ~0): it and every
# later atom of that row get coefficient 0. The pursuit's Gram entries are float32 sums (rounding
# ~1e-7 relative), the final refit's float64.
_DEGENERATE_F32 = 1e-5
_DEGENERATE_F64 = 1e-10


class _LeastSquares:
    """Least squares on each row's chosen atoms, grown one atom at a time: keeps W = L⁻¹ of the
    chosen atoms' Gram matrix L Lᵀ (float64 [b, k, k]) and their correlations c with the target,
    so the coefficients are Wᵀ W c."""

    def __init__(self, b: int, k: int, tol: float):
        self.tol = tol
        self.w = np.zeros((b, k, k))
        self.c = np.zeros((b, k))
        self.live = np.ones(b, bool)
        self.t = 0

    def add(self, g_old: np.ndarray, g_new: np.ndarray, c_new: np.ndarray) -> np.ndarray:
        """g_old [b, t]: the new atom's dot products with the chosen ones; g_new [b]: its squared
        norm; c_new [b]: its dot product with the target. Returns the coefficients [b, t + 1]."""
        t = self.t
        w_old = self.w[:, :t, :t]
        v = np.einsum("bij,bj->bi", w_old, g_old)  # L⁻¹ g: the new row of L
        d2 = g_new - (v * v).sum(1)
        self.live &= d2 > self.tol * g_new
        d = np.sqrt(np.where(self.live, d2, 1.0))
        # the new row of L⁻¹ is [-vᵀ L⁻¹ / d, 1 / d]; finished rows get zeros (coefficient 0)
        self.w[:, t, :t] = np.where(
            self.live[:, None], -np.einsum("bi,bij->bj", v, w_old) / d[:, None], 0.0
        )
        self.w[:, t, t] = np.where(self.live, 1.0 / d, 0.0)
        self.c[:, t] = c_new
        self.t = t = t + 1
        w = self.w[:, :t, :t]
        return np.einsum("bij,bi->bj", w, np.einsum("bij,bj->bi", w, self.c[:, :t]))  # Wᵀ W c


def _pursue(
    y: np.ndarray, atoms: np.ndarray, k: int, refresh: int, scan: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy pursuit of y [b, embed] over atoms [n_atoms, embed]. Every `refresh` steps `scan`
    scores all atoms against the residual and keeps each row's best (its pool); each step picks,
    among the row's pool, the atom of largest |<residual, atom>|. Returns (atom ids [b, k],
    coefficients [b, k] float64, relative residual [b]).

    Between scans a row's scores come from its pool's Gram entries, <residual, p> = <y, p> −
    Σ_s gamma_s <s, p>, so no step touches embed-sized vectors: per-step products with the chosen
    atoms were memory-bound, and small BLAS calls crawl on a shared machine."""
    b, n = y.shape[0], atoms.shape[0]
    rows = np.arange(b)
    y64 = y.astype(np.float64)
    picks = np.full((b, k), n, np.int64)  # n: no pick yet
    chosen = np.zeros((b, k, y.shape[1]), np.float32)  # picked atoms, zero rows after the last
    fit = _LeastSquares(b, k, _DEGENERATE_F32)
    gamma = np.zeros((b, 0))
    for t in range(k):
        if t % refresh == 0:
            resid = y64 - np.einsum("bt,btd->bd", gamma, chosen[:, :t]) if t else y64
            ids, c, gram, cross = scan(y, resid.astype(np.float32), picks, chosen)
            taken = (ids[:, :, None] == picks[:, None, :t]).any(-1)  # [b, pool]
        s = np.abs(c - np.einsum("bpt,bt->bp", cross[:, :, :t], gamma.astype(np.float32)))
        s[taken] = -1.0  # never the same atom twice
        j = s.argmax(1)
        gamma = fit.add(cross[rows, j, :t], gram[rows, j, j], c[rows, j])
        cross[:, :, t] = gram[rows, j]
        taken[rows, j] = True
        picks[:, t] = ids[rows, j]
        chosen[:, t] = atoms[picks[:, t]]
    return (picks, *_refit(y64, chosen.astype(np.float64)))


def _refit(y: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Final coefficients [b, k] by float64 least squares on each row's chosen atoms [b, k, embed]
    (the pursuit's own came from float32 Gram entries), and the relative residual [b]."""
    gram = np.einsum("bkd,bjd->bkj", chosen, chosen)
    c = np.einsum("bkd,bd->bk", chosen, y)
    fit = _LeastSquares(*c.shape, _DEGENERATE_F64)
    for t in range(c.shape[1]):
        gamma = fit.add(gram[:, t, :t], gram[:, t, t], c[:, t])
    resid = y - np.einsum("bk,bkd->bd", gamma, chosen)
    norm = np.linalg.norm(y, axis=1)
    return gamma, np.linalg.norm(resid, axis=1) / np.where(norm > 0, norm, 1.0)


@functools.partial(jax.jit, static_argnames="pool")
def _scan(atoms, y, resid, picks, chosen, pool):
    hi = jax.lax.Precision.HIGHEST
    s = jnp.abs(jnp.dot(resid, atoms.T, precision=hi))
    s = s.at[jnp.arange(y.shape[0])[:, None], picks].set(-1.0, mode="drop")
    ids = jnp.sort(jax.lax.top_k(s, pool)[1], axis=1)  # sorted: ties go to the lower atom id
    sub = atoms[ids]
    return (
        ids,
        jnp.einsum("bpd,bd->bp", sub, y, precision=hi),
        jnp.einsum("bpd,bqd->bpq", sub, sub, precision=hi),
        jnp.einsum("bpd,bkd->bpk", sub, chosen, precision=hi),
    )


def _scanner(atoms: np.ndarray, pool: int) -> Any:
    """scan(y [b, embed], residual [b, embed], picks [b, k] (n_atoms: none), chosen [b, k, embed])
    → (pool ids [b, pool] sorted, <y, p> [b, pool], <p, p'> [b, pool, pool], <p, s> [b, pool, k])
    for each row's `pool` atoms of largest |<residual, atom>| (float32), picks excluded. One XLA
    call: the [b, n_atoms] scores never reach numpy, where selecting from them cost as much as
    computing them."""
    a = jnp.asarray(atoms)

    def run(y, resid, picks, chosen):
        return tuple(np.array(x) for x in _scan(a, y, resid, picks, chosen, pool=pool))

    return run


def omp_codes(
    table: np.ndarray,
    atoms: np.ndarray,
    k: int = DEFAULT_K,
    *,
    rows: np.ndarray | None = None,
    refresh: int = DEFAULT_REFRESH,
    pool: int = DEFAULT_POOL,
    block: int = 256,
    desc: str | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Orthogonal matching pursuit of the targets table[rows] (all rows when None) [n, embed] over
    atoms [n_atoms, embed], `block` targets at a time. Yields per block (atom ids [b, k] int64,
    coefficients [b, k] float64, relative residual ‖y − Σ coef·atom‖ / ‖y‖ [b]).

    refresh: steps between scorings of every atom against the residual (1: exact OMP); pool: the
    atoms per target kept from a scoring, among which the next steps pick (exactly scored, from
    their Gram entries). Scores are float32, the final least squares float64. Memory per block:
    b · (n_atoms + pool · (pool + k + 1) + 3 · k · embed) floats."""
    table = np.asarray(table)
    atoms = np.ascontiguousarray(atoms, dtype=np.float32)
    if table.ndim != 2 or atoms.ndim != 2 or table.shape[1] != atoms.shape[1]:
        raise ValueError(f"OMP: targets {table.shape} and atoms {atoms.shape} do not line up")
    if atoms.shape[0] == 0:
        raise ValueError("OMP: no atoms (no shared tokens)")
    if min(k, refresh, pool, block) < 1:
        raise ValueError(
            f"OMP: k, refresh, pool and block must be ≥ 1, got {k}, {refresh}, {pool}, {block}"
        )
    k, pool = min(k, atoms.shape[0]), min(pool, atoms.shape[0])
    if pool < min(refresh, k) and pool < atoms.shape[0]:
        raise ValueError(
            f"OMP: a pool of {pool} atoms runs out before the next scan ({refresh} steps)"
        )
    n = table.shape[0] if rows is None else len(rows)
    scan = _scanner(atoms, pool)
    for start in tqdm(range(0, n, block), desc=desc, disable=desc is None or None, leave=False):
        part = slice(start, start + block)
        y = table[part] if rows is None else table[rows[part]]
        yield _pursue(np.asarray(y, np.float32), atoms, k, refresh, scan)


def anchors(source: SourceEmbeddings, target: CanonicalVocab) -> tuple[np.ndarray, np.ndarray]:
    """(target ids, source ids) of the shared tokens: the exact byte overlap. Specials mapped by
    role are copied but are no atoms: their rows encode a role, not text."""
    ov = overlap(target, source.vocab)
    return ov.target_ids.astype(np.int64), ov.source_ids.astype(np.int64)


def combine(codes: tuple[np.ndarray, np.ndarray], base: np.ndarray) -> np.ndarray:
    """Σ_j coef[:, j] · base[ids[:, j]] in float64: [b, width]."""
    ids, coef = codes
    return np.einsum("bk,bkd->bd", coef, base[ids].astype(np.float64))


def omp_init(
    source: SourceEmbeddings,
    target: CanonicalVocab,
    *,
    seed: int = 0,
    copy: bool = True,
    donor: Donor | str | None = None,
    k: int = DEFAULT_K,
    refresh: int = DEFAULT_REFRESH,
    pool: int = DEFAULT_POOL,
    block: int = 256,
) -> TargetEmbeddings:
    """OMP transplant of `source` onto `target` with `donor` (a Donor, or an alias/path that
    `load_donor` reads), whose vocabulary must cover the target's. k: atoms per token; refresh,
    pool: how often the pursuit scores every atom and how many it keeps (`omp_codes`; refresh=1 is
    exact OMP); block: tokens per batch.

    info: n_anchors, k, refresh, pool, and per fitted table the mean relative residual
    of the fit in the donor's space (`residual_input`, `residual_output`)."""
    if not copy:
        raise ValueError("OMP combines the shared tokens' base rows; it cannot run with copy=False")
    donor = as_donor(donor, "omp")
    t_ids, s_ids = anchors(source, target)
    rows_of = donor_rows(target, donor)
    require_rows(rows_of, t_ids, target, donor)
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # kept only for an MLM bias
    info: dict[str, Any] = {}

    def fill(key, table, missing):
        require_rows(rows_of, missing, target, donor)
        fit_key = key if key != "bias" else ("output" if "output" in codes else "input")
        base = table[s_ids]
        if fit_key in codes:  # a bias replays the head's (else the input's) coefficients
            ids, coef = codes[fit_key]
            for start in range(0, missing.size, block):
                part = slice(start, start + block)
                yield combine((ids[part], coef[part].astype(np.float64)), base)
            return
        keep = source.output_bias is not None
        if keep:
            codes[fit_key] = (
                np.zeros((missing.size, k), np.int32),
                np.zeros((missing.size, k), np.float32),
            )
        d_table = donor.table(fit_key)
        resid, done = 0.0, 0
        for ids, coef, r in omp_codes(
            d_table,
            d_table[rows_of[t_ids]],
            k,
            rows=rows_of[missing],
            refresh=refresh,
            pool=pool,
            block=block,
            desc=f"omp {key}",
        ):
            if keep:
                codes[fit_key][0][done : done + len(ids), : ids.shape[1]] = ids
                codes[fit_key][1][done : done + len(ids), : ids.shape[1]] = coef
            resid += float(r.sum())
            done += len(ids)
            yield combine((ids, coef), base)
        info[f"residual_{fit_key}"] = resid / max(done, 1)

    result = assemble(source, target, fill, copy, "omp")
    result.info.update(
        n_anchors=int(t_ids.size),
        k=int(min(k, t_ids.size)),
        refresh=refresh,
        pool=pool,
        **info,
    )
    return result
