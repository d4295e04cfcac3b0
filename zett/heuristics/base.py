"""The one interface every embedding-initialisation heuristic implements, and the shared copy step."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from zett.tokenization import (
    CanonicalVocab,
    Decomposer,
    LoadedTokenizer,
    map_specials,
    overlap,
)


@dataclass
class SourceEmbeddings:
    """The base model's side: its canonical vocabulary and tables [source_vocab, embed], and its
    loaded tokenizer where a method splits target tokens with the source tokenizer's own model (the
    hypernet does, as in training)."""

    vocab: CanonicalVocab
    input_embeddings: np.ndarray
    output_embeddings: np.ndarray | None = None  # None when tied
    output_bias: np.ndarray | None = None  # MLM heads
    decomposer: Decomposer | None = (
        None  # greedy longest match over `vocab` (FVT), made on first use
    )
    tokenizer: LoadedTokenizer | None = None

    def __post_init__(self) -> None:
        n = self.input_embeddings.shape[0]
        if self.vocab.size > n:
            raise ValueError(
                f"source vocabulary has {self.vocab.size} ids but the embedding table only {n} rows"
            )
        if (
            self.output_embeddings is not None
            and self.output_embeddings.shape != self.input_embeddings.shape
        ):
            raise ValueError(
                f"output embeddings {self.output_embeddings.shape} != input embeddings "
                f"{self.input_embeddings.shape}"
            )

    def tables(self) -> dict[str, np.ndarray]:
        """name → [source_vocab, width] tables that a heuristic fills for the target vocabulary.
        Rows past the tokenizer's ids (padding: untrained in many checkpoints, and pushed far from
        every hidden state by `zett extend`) are left out, so they never enter a mean or a fit."""
        n = max(self.vocab.size, max(self.vocab.special_ids, default=-1) + 1)
        out = {"input": self.input_embeddings[:n]}
        if self.output_embeddings is not None:
            out["output"] = self.output_embeddings[:n]
        if self.output_bias is not None:
            out["bias"] = self.output_bias[:n, None]
        return out

    def get_decomposer(self, maxlen: int = 7) -> Decomposer:
        if self.decomposer is None:
            self.decomposer = Decomposer(self.vocab, maxlen=maxlen)
        return self.decomposer


@dataclass
class TargetEmbeddings:
    """Result: tables [target_vocab, embed] plus which rows were copied and how many were guessed."""

    input_embeddings: np.ndarray
    output_embeddings: np.ndarray | None = None
    output_bias: np.ndarray | None = None
    copied: np.ndarray | None = None  # [target_vocab] bool: row taken verbatim from the source
    info: dict[str, Any] = field(default_factory=dict)


class Heuristic(Protocol):
    def __call__(
        self, source: SourceEmbeddings, target: CanonicalVocab, *, seed: int = 0, **opts: Any
    ) -> TargetEmbeddings: ...


def copy_plan(source: SourceEmbeddings, target: CanonicalVocab) -> tuple[np.ndarray, np.ndarray]:
    """(target ids, source ids) whose rows are copied: exact canonical overlap + specials by role."""
    ov = overlap(target, source.vocab)
    specials = map_specials(target, source.vocab)
    t = np.concatenate(
        [ov.target_ids, np.fromiter(specials.keys(), np.int64, len(specials))]
    ).astype(np.int64)
    s = np.concatenate(
        [ov.source_ids, np.fromiter(specials.values(), np.int64, len(specials))]
    ).astype(np.int64)
    return t, s


_COPY_ROWS = 16384

# fill(table_name, source_table, missing_target_ids) -> the [n_missing, width] rows, or an iterator
# of consecutive row blocks in `missing` order (each block goes straight into the output table, so
# the filled rows never exist twice — at 262k x 1024 that copy alone was 1 GB)
Fill = Callable[[str, np.ndarray, np.ndarray], "np.ndarray | Iterable[np.ndarray]"]


def _write_rows(
    out: np.ndarray, missing: np.ndarray, rows: np.ndarray | Iterable[np.ndarray], name: str
) -> None:
    """out[missing] = rows, block by block; assignment casts to the table dtype without an extra
    copy."""
    want = (missing.size, out.shape[1])
    if isinstance(rows, np.ndarray):
        if rows.shape != want:
            raise ValueError(f"{name}: filled {rows.shape}, expected {want}")
        rows = [rows]
    done = 0
    for block in rows:
        if (
            block.ndim != 2
            or block.shape[1] != out.shape[1]
            or done + block.shape[0] > missing.size
        ):
            raise ValueError(
                f"{name}: filled a block {block.shape} after {done} rows, expected {want} in all"
            )
        out[missing[done : done + block.shape[0]]] = block
        done += block.shape[0]
    if done != missing.size:
        raise ValueError(f"{name}: filled {done} rows, expected {want}")


def assemble(
    source: SourceEmbeddings,
    target: CanonicalVocab,
    fill: Fill,
    copy: bool = True,
    name: str = "",
) -> TargetEmbeddings:
    """Builds every target table: rows in the copy plan come from the source, the rest from `fill`."""
    n = max(target.size, max(target.special_ids, default=-1) + 1)
    copied = np.zeros(n, bool)
    t_ids, s_ids = (
        copy_plan(source, target) if copy else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    )
    copied[t_ids] = True
    missing = np.flatnonzero(~copied)
    result: dict[str, np.ndarray] = {}
    for key, table in source.tables().items():
        out = np.empty((n, table.shape[1]), table.dtype)
        for k in range(
            0, t_ids.size, _COPY_ROWS
        ):  # no temporary copy of every overlapping row at once
            out[t_ids[k : k + _COPY_ROWS]] = table[s_ids[k : k + _COPY_ROWS]]
        if missing.size:
            _write_rows(out, missing, fill(key, table, missing), name)
        result[key] = out
    return TargetEmbeddings(
        input_embeddings=result["input"],
        output_embeddings=result.get("output"),
        output_bias=result["bias"][:, 0] if "bias" in result else None,
        copied=copied,
        info={
            "method": name,
            "n_target": int(n),
            "n_copied": int(copied.sum()),
            "n_initialised": int(missing.size),
        },
    )
