"""Heuristics that read a token's text: FVT (mean of its decomposition) and lexical copy."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from zett.heuristics.base import SourceEmbeddings, TargetEmbeddings, assemble
from zett.tokenization import CanonicalVocab


def decomposition_matrix(
    source: SourceEmbeddings, tokens: list[str]
) -> tuple[sp.csr_matrix, np.ndarray]:
    """[n_tokens, source_vocab + 256] averaging matrix over each token's full (untruncated)
    decomposition, and a [n_tokens] flag for tokens that decompose to nothing (empty strings)."""
    dec = source.get_decomposer()
    cols, lengths = dec.encode_flat(tokens)  # flat id arrays: no Python list per token
    n_cols = dec.source_vocab_size + dec.n_fallback
    return averaging_matrix(cols, lengths, n_cols), lengths == 0


def averaging_matrix(cols: np.ndarray, lengths: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """[n_tokens, n_cols] matrix whose row i averages the columns `cols[sum(lengths[:i]):][:lengths[i]]`
    (flat piece ids of every token, concatenated); a token of length 0 gets an empty row."""
    row_idx = np.repeat(np.arange(lengths.size), lengths)
    weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths)
    return sp.csr_matrix((weights, (row_idx, cols)), shape=(lengths.size, n_cols))


def mean_rows(by_source: sp.csr_matrix, table: np.ndarray) -> np.ndarray:
    """`by_source @ table` in float64, upcasting only the source rows these tokens use (scipy would
    upcast the whole table on every call). Columns are renumbered in order, so every row sums the
    same products in the same order: the result is bit-identical."""
    used = np.unique(by_source.indices)
    local = sp.csr_matrix(
        (by_source.data, np.searchsorted(used, by_source.indices), by_source.indptr),
        shape=(by_source.shape[0], used.size),
    )
    return local @ table[used].astype(np.float64)


def fvt_init(
    source: SourceEmbeddings,
    target: CanonicalVocab,
    *,
    seed: int = 0,
    copy: bool = True,
    chunk: int = 4096,
) -> TargetEmbeddings:
    """Fast Vocabulary Transfer: overlapping tokens copied, others = mean of their pieces' rows.

    Bytes the source cannot spell (fallback ids) contribute the mean source row. The decomposition
    is computed once for all tables, and rows are computed `chunk` at a time (float64) and written
    straight into the output table, so memory stays near the old + new tables."""
    tokens = list(target.tokens)
    cache: dict[str, object] = {}

    def fill(_key, table, missing):
        if "matrix" not in cache:
            cache["matrix"], cache["empty"] = decomposition_matrix(
                source, [tokens[i] for i in missing]
            )
        matrix, empty = cache["matrix"], cache["empty"]
        n_src = source.get_decomposer().source_vocab_size
        mean = table.mean(0, dtype=np.float64)
        by_source, by_fallback = matrix[:, :n_src].tocsr(), np.asarray(matrix[:, n_src:].sum(1))
        for start in range(0, missing.size, chunk):
            part = slice(start, min(start + chunk, missing.size))
            rows = mean_rows(by_source[part], table)
            rows += by_fallback[part] * mean
            rows[empty[part]] = mean
            yield rows

    return assemble(source, target, fill, copy, "fvt")


def lexical_init(
    source: SourceEmbeddings, target: CanonicalVocab, *, seed: int = 0, copy: bool = True
) -> TargetEmbeddings:
    """Copy the overlap; every other token gets the source UNK row when there is one, else the mean."""
    unk = source.vocab.special("unk")

    def fill(_key, table, missing):
        row = table[unk.id] if unk is not None else table.astype(np.float64).mean(0)
        return np.broadcast_to(row, (missing.size, table.shape[1]))

    return assemble(source, target, fill, copy, "lexical")
