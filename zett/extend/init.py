"""Initialisers for new embedding rows: average, special_tokens, random, mvn, fvt, hypernet.

These fill rows for tokens *added* to a vocabulary (old table → n new rows), so they are their own
set rather than `zett.methods` entries, which build a whole target vocabulary's tables:
- `fvt` averages with `zett.heuristics.fvt`'s function and `hypernet` loads and predicts through
  `zett.methods.hypernet`/`zett.hypernet.predict`, as `zett transfer` does. What stays specific
  is the split of each new token: its raw text through the original tokenizer's full pipeline
  (normaliser, pre-tokenizer; see `decompose_texts`), where transfer splits canonical bytes; and
  tokens without text get mean + noise rather than the mean.
- `average`/`special_tokens`/`mvn` (mean + noise relative to the per-dimension std, the mean of
  chosen rows, the old rows' covariance × `mvn_scale`, default 1) have no transfer counterpart:
  transfer's `mean_noise` scales noise by 0.1 and its `mvn` is transformers' 1e-9 covariance.
  `random` draws the same distribution as transfer's, from statistics computed in chunks (an
  extended model's table need not fit in float64 at once), so its numbers differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from zett.heuristics.fvt import averaging_matrix, mean_rows

METHODS = ("average", "special_tokens", "random", "mvn", "fvt", "hypernet")

HYPERNET_MESSAGE = (
    "init 'hypernet' needs a trained zett hypernetwork for this base model (--hypernet DIR, e.g. "
    "experiments/smollm2/hypernet) and a checkpoint to extend (not --tokenizer-only)"
)


@dataclass(frozen=True)
class InitSpec:
    """How to initialise new rows. The default, `average`, is chosen by measurement
    (`experiments/extend/new_row_mass.py`): a row at the mean of the old rows scores the mean old
    logit, exp of which is at most the average old probability (Jensen; Hewitt 2021), so even
    8,192 such rows keep under 0.1% of the probability on held-out text, and they train as fast as
    `mvn` rows (`benchmarks/extend_trainability.py`); `mvn` rows take up to 7.4% (SmolLM2, English).

    noise: std of the noise added by `average`/`special_tokens`, relative to the per-dimension std
      of the old rows (0 → the exact mean).
    special_ids: rows averaged by `special_tokens`.
    decompositions: for `fvt`, per new token the old ids its text splits into (empty → `average`).
    mvn_scale: covariance scale for `mvn` (1 = the old rows' covariance; transformers uses 1e-9).
    """

    method: str = "average"
    seed: int = 0
    noise: float = 0.01
    special_ids: tuple[int, ...] = ()
    decompositions: tuple[tuple[int, ...], ...] | None = None
    mvn_scale: float = 1.0
    hypernet: str | None = None
    predicted: dict | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown init method {self.method!r}; choose one of {METHODS}")


def row_stats(old: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std [embed] of `old` [vocab, embed], in float64, chunked over rows."""
    n, d = old.shape
    s, ss = np.zeros(d), np.zeros(d)
    for i in range(0, n, chunk):
        x = old[i : i + chunk].astype(np.float64)
        s += x.sum(0)
        ss += (x * x).sum(0)
    mean = s / max(n, 1)
    return mean, np.sqrt(np.maximum(ss / max(n, 1) - mean * mean, 0.0))


def row_covariance(old: np.ndarray, mean: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Covariance [embed, embed] of the rows of `old`, float64, chunked so big vocabularies fit."""
    n, d = old.shape
    cov = np.zeros((d, d))
    for i in range(0, n, chunk):
        x = old[i : i + chunk].astype(np.float64) - mean
        cov += x.T @ x
    return cov / max(n - 1, 1)


def _mean_plus_noise(
    rows: np.ndarray, std: np.ndarray, n_new: int, noise: float, rng: np.random.Generator
) -> np.ndarray:
    mean = rows.astype(np.float64).mean(0)
    return mean + noise * std * rng.standard_normal((n_new, rows.shape[1]))


def init_rows(
    old: np.ndarray,
    n_new: int,
    spec: InitSpec,
    kind: str = "input",
    stat_rows: np.ndarray | None = None,
) -> np.ndarray:
    """New rows [n_new, embed] in `old.dtype` for a table `old` [vocab, embed] (`kind` "input" or
    "output") under `spec`. stat_rows: bool [vocab], the rows whose mean/std/covariance the
    methods use (padding rows of an earlier extension are excluded); None → all rows."""
    if old.ndim != 2:
        raise ValueError(f"expected a [vocab, embed] table, got shape {old.shape}")
    if old.shape[0] == 0:
        raise ValueError("cannot initialise new rows from an empty table")
    rng = np.random.default_rng(spec.seed)
    n, d = old.shape
    if n_new == 0:
        return np.zeros((0, d), old.dtype)
    method = spec.method
    if method == "hypernet" and (spec.predicted is None or spec.predicted.get(kind) is None):
        raise ValueError(HYPERNET_MESSAGE)
    ref = old if stat_rows is None else old[np.asarray(stat_rows, bool)]
    mean, std = row_stats(ref)
    if method == "hypernet":
        out = np.asarray(spec.predicted[kind], np.float64).copy()
        if out.shape != (n_new, d):
            raise ValueError(f"hypernet predicted {out.shape} rows, expected {(n_new, d)}")
        missing = np.isnan(out).any(axis=1)  # tokens with no textual form
        out[missing] = mean + spec.noise * std * rng.standard_normal((int(missing.sum()), d))
        return out.astype(old.dtype)
    if method == "average":
        out = mean + spec.noise * std * rng.standard_normal((n_new, d))
    elif method == "special_tokens":
        if not spec.special_ids:
            raise ValueError("init 'special_tokens' needs the ids of the special tokens to average")
        ids = np.asarray(spec.special_ids)
        if (ids < 0).any() or (ids >= n).any():
            bad = int(ids[(ids < 0) | (ids >= n)][0])
            raise ValueError(f"special token id {bad} is outside the table [0, {n})")
        out = _mean_plus_noise(old[ids], std, n_new, spec.noise, rng)
    elif method == "random":
        out = mean + std * rng.standard_normal((n_new, d))
    elif method == "mvn":
        cov = row_covariance(ref, mean) * spec.mvn_scale
        out = rng.multivariate_normal(mean, cov, size=n_new, method="eigh")
    elif method == "fvt":
        out = _fvt(old, n_new, spec, mean, std, rng)
    else:  # pragma: no cover - guarded by InitSpec
        raise AssertionError(method)
    return out.astype(old.dtype)


def _fvt(
    old: np.ndarray,
    n_new: int,
    spec: InitSpec,
    mean: np.ndarray,
    std: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fast Vocabulary Transfer: mean of the old rows of each new token's decomposition, computed
    by the same averaging as `zett transfer`'s FVT (`zett.heuristics.fvt`)."""
    decs = spec.decompositions
    if decs is None or len(decs) != n_new:
        got = "none" if decs is None else len(decs)
        raise ValueError(f"init 'fvt' needs one decomposition per new token ({n_new}), got {got}")
    lengths = np.fromiter((len(ids) for ids in decs), np.int64, n_new)
    cols = np.fromiter((i for ids in decs for i in ids), np.int64, int(lengths.sum()))
    bad = (cols < 0) | (cols >= old.shape[0])
    if bad.any():
        i = int(np.searchsorted(np.cumsum(lengths), np.flatnonzero(bad)[0], side="right"))
        raise ValueError(
            f"decomposition of new token {i} has id outside the table [0, {old.shape[0]}): "
            f"{decs[i]}"
        )
    out = mean_rows(averaging_matrix(cols, lengths, old.shape[0]), old)
    empty = lengths == 0  # no textual form (e.g. an audio code): mean + noise, as `average`
    out[empty] = mean + spec.noise * std * rng.standard_normal((int(empty.sum()), old.shape[1]))
    return out


def decompose_texts(texts: Sequence[str | None], tokenizer) -> tuple[tuple[int, ...], ...]:
    """Old-tokenizer ids of each new token's text (`None` → empty: the token has no textual form).

    `tokenizer` is the *original* `tokenizers.Tokenizer`; its full pipeline (normaliser,
    pre-tokenizer) gives the pieces the text was split into before the extension, which is what
    FVT averages. (`zett.tokenization.Decomposer` works on canonical strings and bypasses the
    normaliser/pre-tokenizer, so e.g. a WordPiece word would lose its word-initial form.)"""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer.to_str())  # a copy: saved padding/truncation must not apply
    tok.no_padding()
    tok.no_truncation()
    return tuple(tuple(tok.encode(t, add_special_tokens=False).ids) if t else () for t in texts)


def make_init(spec: InitSpec) -> Callable[[np.ndarray, int], np.ndarray]:
    """`init(old, n_new)` for `zett.models.resize.resize_table` / `LanguageModel.resize_vocab`."""
    return lambda old, n_new: init_rows(old, n_new, spec)
