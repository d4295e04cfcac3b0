"""Per-host data shards: each process builds only its parts of the global batch; the parts' vocabulary
subsets are gathered and merged, so every host holds the same subset, and the text rows become one
global array — copied to another host only where the mesh puts a process's devices on rows that
another process built (an axis other than data spanning processes)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh

from zett.hypernet.batch import Batch
from zett.parallel.mesh import DEFAULT_RULES, batch_field_sharding, shard_batch
from zett.sampling import DataParts
from zett.sampling.batch import SUBSET_FIELDS, TEXT_FIELDS
from zett.sampling.packing import packing

# what a padding row of the collator's subset holds; rows merged away become padding rows
_PADDING = {
    "surface_ids": 0,
    "surface_lengths": 0,
    "special_source_ids": -1,
    "source_ids": -1,
    "vocab_mask": False,
}


def data_parts(batch_size: int, count: int = 0) -> DataParts:
    """Which parts of every global batch this process builds: `count` parts (0 = one per process),
    process p of n building the p-th run of count/n consecutive ones. One process may build several
    (`count` > 1 on a single host reproduces the batches of a `count`-host run exactly). Which
    devices hold which rows is the mesh's business: `global_batch` moves rows where needed."""
    n_proc = jax.process_count()
    count = count or n_proc
    if count % n_proc or batch_size % count:
        raise ValueError(
            f"{count} data parts must be a multiple of the {n_proc} processes and divide "
            f"batch_size {batch_size}"
        )
    return DataParts.of_host(count, jax.process_index(), n_proc)


def first_occurrence(vocab_ids: np.ndarray, vocab_mask: np.ndarray) -> np.ndarray:
    """[parts, k] subsets laid end to end → for each row, the first real row holding the same token
    (itself when it is the first, or a padding row)."""
    ids, real = vocab_ids.reshape(-1), vocab_mask.reshape(-1)
    first = np.arange(ids.size)
    rows = np.flatnonzero(real)
    _, at, inverse = np.unique(ids[rows], return_index=True, return_inverse=True)
    first[rows] = rows[at[inverse]]
    return first


def merge_parts(
    local: Sequence[Batch], parts: DataParts, full_vocab: bool
) -> dict[str, np.ndarray]:
    """This process's collated parts → the arrays of its share of the global batch.

    Subset fields come out global (identical on every host): the parts' subsets end to end, a token
    that several parts chose kept once (later copies become padding rows, so no token gets two
    logits). Text fields stay local, their ids renumbered into the merged subset. With `full_vocab`
    every part already holds the whole sampled vocabulary, so part 0's subset serves all."""
    stacked = {
        f: np.stack([np.asarray(getattr(b, f)) for b in local])
        for f in (*SUBSET_FIELDS, "vocab_ids")
    }
    stacked["part"] = np.asarray(parts.local, np.int32)
    if jax.process_count() > 1:
        gathered = multihost_utils.process_allgather(stacked)  # [processes, local parts, ...]
        stacked = {f: np.asarray(v).reshape((-1, *np.shape(v)[2:])) for f, v in gathered.items()}
    order = np.argsort(stacked["part"])
    if not np.array_equal(stacked["part"][order], np.arange(parts.count)):
        raise RuntimeError(
            f"gathered parts {sorted(stacked['part'].tolist())}, expected 0..{parts.count - 1}"
        )
    g = {f: v[order] for f, v in stacked.items()}
    k = g["vocab_mask"].shape[1]
    if full_vocab:
        first = None
        out = {f: g[f][0] for f in SUBSET_FIELDS}
    else:
        first = first_occurrence(g["vocab_ids"], g["vocab_mask"])
        keep = (first == np.arange(first.size)) & g["vocab_mask"].reshape(-1)
        out = {}
        for f in SUBSET_FIELDS:
            v = g[f].reshape((-1, *g[f].shape[2:])).copy()
            v[~keep] = _PADDING[f]
            out[f] = v
    for f in TEXT_FIELDS:
        blocks = []
        for p, b in zip(parts.local, local):
            v = np.asarray(getattr(b, f))
            if first is not None and f in ("input_ids", "labels"):  # labels keep −1 (no loss)
                v = np.where(v >= 0, first[p * k + np.maximum(v, 0)], v).astype(v.dtype)
            blocks.append(v)
        out[f] = np.concatenate(blocks)
    return out


def global_batch(
    local: Sequence[Batch],
    parts: DataParts,
    mesh: Mesh,
    rules=DEFAULT_RULES,
    full_vocab: bool = False,
) -> Batch:
    """The step's batch on `mesh`, from this process's parts only (see `merge_parts`; one part is
    placed as it is)."""
    if parts.count == 1:
        return shard_batch(local[0], mesh, rules)
    arrays = merge_parts(local, parts, full_vocab)
    # every part of a step draws from the same language (it is drawn for the global batch)
    language = local[0].language
    # the merged subset (identical on every host) is packed anew, so every host compiles one shape
    maxlen = local[0].surface_ids.shape[1]
    meta = packing(arrays["surface_lengths"], maxlen, local[0].pack_width)
    n_proc = jax.process_count()
    if n_proc == 1:
        return shard_batch(Batch(**arrays, **meta, language=language), mesh, rules)
    batch_size = arrays["input_ids"].shape[0] * n_proc
    lo = parts.local[0] * batch_size // parts.count  # this process's rows: lo … lo + local rows
    if not rows_stay_home(mesh, batch_size, rules):
        text = {f: arrays[f] for f in TEXT_FIELDS}
        gathered = multihost_utils.process_allgather(text)  # [processes, local rows, ...]
        arrays |= {f: np.asarray(v).reshape((-1, *np.shape(v)[2:])) for f, v in gathered.items()}
        lo = 0
    placed = {}
    for f, v in arrays.items():
        shape = (batch_size, *v.shape[1:]) if f in TEXT_FIELDS else v.shape
        offset = lo if f in TEXT_FIELDS else 0
        placed[f] = jax.make_array_from_callback(
            shape,
            batch_field_sharding(f, shape, mesh, rules),
            lambda index, v=v, offset=offset, n=shape[0]: v[_shifted(index, offset, n)],
        )
    if language is not None:  # a scalar, the same on every host: replicated
        value = np.asarray(language)
        placed["language"] = jax.make_array_from_callback(
            (), batch_field_sharding("language", (), mesh, rules), lambda index: value[index]
        )
    return Batch(**placed, **meta)


def rows_stay_home(mesh: Mesh, batch_size: int, rules=DEFAULT_RULES) -> bool:
    """Whether every process's devices hold only text rows that the process built itself (its data
    parts); the same answer on every process, so all of them join the gather when it is False."""
    n_proc = jax.process_count()
    per_process = batch_size // n_proc
    shape = (batch_size, 1)
    sharding = batch_field_sharding("input_ids", shape, mesh, rules)
    for device, index in sharding.devices_indices_map(shape).items():
        start, stop, _ = index[0].indices(batch_size)
        lo = device.process_index * per_process
        if start < lo or stop > lo + per_process:
            return False
    return True


def _shifted(index: tuple[slice, ...], offset: int, n: int) -> tuple[slice, ...]:
    """A global index of an `n`-row batch axis as an index into rows that start at row `offset`."""
    start, stop, _ = index[0].indices(n)
    return (slice(start - offset, stop - offset), *index[1:])
