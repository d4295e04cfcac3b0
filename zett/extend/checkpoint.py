"""Streaming extension of an HF safetensors checkpoint's vocabulary tables along an `IdMapping`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from zett.checkpoint import (
    CONFIG_FILE,
    INDEX_FILE,
    atomic_dir,
    by_file,
    read_index,
    rewrite_file,
    tensor_entries,
    vocab_tensors,
)
from zett.extend.init import InitSpec, init_rows
from zett.extend.layout import IdMapping, IdRange
from zett.extend.padding import PAD_LOGIT_GAP


class CheckpointExtensionError(ValueError):
    """The checkpoint cannot be extended as asked (tensors of the wrong size, unknown names)."""


def new_row_ids(mapping: IdMapping) -> np.ndarray:
    """The new ids no old id maps to (sorted): the rows an initialiser fills."""
    taken = np.zeros(mapping.new_size, bool)
    taken[mapping.old_to_new] = True
    return np.flatnonzero(~taken)


def extend_table(
    old: np.ndarray,
    mapping: IdMapping,
    spec: InitSpec,
    kind: str = "input",
    padding_ids: np.ndarray | None = None,
    padding_row: np.ndarray | None = None,
    token_rows: np.ndarray | None = None,
) -> np.ndarray:
    """[old_vocab, ...] → [new_vocab, ...]: old rows copied bit-identically to `mapping(old id)`, new
    rows from `spec` (bias vectors: new entries get the mean of the old ones).

    padding_ids: new ids of padding (reserved) rows, which never take a token's initialisation:
    they get `padding_row` [embed] (an LM head's row scoring far below every old id, see
    `zett.extend.padding`) or, without one, the exact mean of the old rows; in a bias vector
    they get -`PAD_LOGIT_GAP`. token_rows: bool [old_vocab], the old rows the initialiser's
    statistics are taken over (earlier padding rows excluded); None → all."""
    if old.shape[0] != mapping.old_size:
        raise CheckpointExtensionError(
            f"table has {old.shape[0]} rows but the mapping expects {mapping.old_size}"
        )
    new_ids = new_row_ids(mapping)
    out = np.empty((mapping.new_size,) + old.shape[1:], old.dtype)
    out[mapping.old_to_new] = old
    ref = old if token_rows is None else old[token_rows]
    if old.ndim == 1:
        out[new_ids] = ref.astype(np.float64).mean().astype(old.dtype)
    else:
        out[new_ids] = init_rows(old, len(new_ids), spec, kind, stat_rows=token_rows)
    if padding_ids is not None and len(padding_ids):
        if old.ndim == 1:
            out[padding_ids] = -PAD_LOGIT_GAP
        elif padding_row is not None:
            out[padding_ids] = padding_row.astype(old.dtype)
        else:
            out[padding_ids] = ref.astype(np.float64).mean(0).astype(old.dtype)
    return out


def segment_spec(spec: InitSpec, mapping: IdMapping, old: IdRange, new: IdRange) -> InitSpec:
    """`spec` for a table whose rows are the ids of `old` before and `new` after: FVT
    decompositions are re-indexed to its rows (pieces outside it dropped); the hypernet, which
    predicts only the main embedding and head, gives way to `average`."""
    if spec.method == "hypernet":
        return replace(spec, method="average", predicted=None)
    if spec.method != "fvt" or spec.decompositions is None:
        return spec
    full_new = new_row_ids(mapping)  # the order of `spec.decompositions`
    rows = new_row_ids(mapping.restrict(old, new)) + new.lo  # this table's new rows, as ids
    pos = np.searchsorted(full_new, rows)
    if not np.array_equal(full_new[np.minimum(pos, len(full_new) - 1)], rows):
        raise CheckpointExtensionError(f"new rows of {new} are not new ids of the vocabulary")
    decs = tuple(
        tuple(i - old.lo for i in spec.decompositions[p] if old.lo <= i < old.hi) for p in pos
    )
    return replace(spec, decompositions=decs)


def extend_checkpoint(
    src_dir: str | Path,
    out_dir: str | Path,
    mapping: IdMapping,
    spec: InitSpec,
    config: dict,
    tensors: Mapping[str, str] | None = None,
    extra_files: Mapping[str, bytes | str] | None = None,
    copy_files: tuple[str, ...] = ("generation_config.json",),
    overwrite: bool = False,
    tied: bool | None = None,
    segment_tensors: Mapping[str, tuple[IdRange, IdRange]] | None = None,
    padding_ids: np.ndarray | None = None,
    padding_row: np.ndarray | None = None,
    token_rows: np.ndarray | None = None,
) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Writes `src_dir`'s checkpoint to `out_dir` with vocabulary tables grown along `mapping`.

    Only one vocabulary tensor (old and new) is in memory at a time; every other tensor is
    byte-copied through in chunks (`zett.checkpoint.rewrite_file`); shard names and the index are
    kept; `config` (already updated) is written as config.json, `extra_files` (e.g. tokenizer files)
    next to it. `tensors` overrides auto-detection: {name: "input"|"output"|"bias"}.
    `segment_tensors` {name: (old range, new range)}: input tables whose rows are the ids of one
    segment (see `IdMapping.restrict`), grown with it. `padding_ids`, `padding_row`, `token_rows`:
    see `extend_table`; the padding row goes to the LM head (the embedding when tied: padding ids
    are never inputs), an untied input table's padding rows get the mean. Returns {tensor: (old
    shape, new shape)}."""
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    entries = tensor_entries(src_dir)
    shapes = {name: e.shape for name, e in entries.items()}
    if tensors is None:
        tensors = vocab_tensors(shapes, mapping.old_size)
        if not any(k == "input" for k in tensors.values()):
            raise CheckpointExtensionError(
                f"{src_dir}: no input embedding with {mapping.old_size} rows among "
                f"{[n for n in shapes if 'emb' in n] or list(shapes)[:5]}; pass the tensor names "
                f"explicitly"
            )
    segments = dict(segment_tensors or {})
    segment_tensors = {n: mapping.restrict(o, w) for n, (o, w) in segments.items()}
    for n, sub in segment_tensors.items():
        if n not in shapes:
            raise CheckpointExtensionError(f"{src_dir}: tensor {n!r} not in the checkpoint")
        if shapes[n][0] != sub.old_size:
            raise CheckpointExtensionError(
                f"{src_dir}: tensor {n!r} has {shapes[n][0]} rows but its segment has "
                f"{sub.old_size} ids"
            )
    for n in tensors:
        if n not in shapes:
            raise CheckpointExtensionError(f"{src_dir}: tensor {n!r} not in the checkpoint")
        if shapes[n][0] != mapping.old_size:
            raise CheckpointExtensionError(
                f"{src_dir}: tensor {n!r} has {shapes[n][0]} rows but the vocabulary has "
                f"{mapping.old_size} ids "
                "(tokenizer/config and checkpoint disagree)"
            )
    if tied is None:
        tied = bool(
            config.get(
                "tie_word_embeddings",
                (config.get("text_config") or {}).get("tie_word_embeddings", False),
            )
        )
    changed: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    with atomic_dir(out_dir, overwrite) as tmp:
        total = 0
        for file, names in by_file(entries).items():
            transforms = {}
            for n in names:
                if n in segment_tensors:
                    sub = segment_tensors[n]
                    transforms[n] = partial(
                        extend_table, mapping=sub, spec=segment_spec(spec, mapping, *segments[n])
                    )
                    changed[n] = (shapes[n], (sub.new_size,) + shapes[n][1:])
                    continue
                kind = tensors.get(n)
                if kind is None:
                    continue
                # a tied head must stay equal to the embedding, so it shares the input's seed
                seed = spec.seed + (1 if kind == "output" and not tied else 0)
                head = kind == "output" or tied
                transforms[n] = partial(
                    extend_table,
                    mapping=mapping,
                    spec=replace(spec, seed=seed),
                    kind="output" if kind == "output" and not tied else "input",
                    padding_ids=padding_ids,
                    padding_row=padding_row if head else None,
                    token_rows=token_rows,
                )
                changed[n] = (shapes[n], (mapping.new_size,) + shapes[n][1:])
            dst = tmp / file.relative_to(src_dir)
            rows = {n: changed[n][1][0] for n in transforms}
            total += rewrite_file(file, dst, transforms, rows)
        if (src_dir / INDEX_FILE).is_file():
            index = read_index(src_dir / INDEX_FILE)
            index.setdefault("metadata", {})["total_size"] = total
            (tmp / INDEX_FILE).write_text(json.dumps(index, indent=2))
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        for name in copy_files:
            if (src_dir / name).is_file():
                shutil.copyfile(src_dir / name, tmp / name)  # mode from the umask
        for name, content in (extra_files or {}).items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(tmp / name, mode) as fh:
                fh.write(content)
    return changed
