"""The one safetensors writer: a file written tensor by tensor, and a checkpoint split into shards
with an index once it exceeds a size.

`safetensors.numpy.save_file` needs every tensor of a file in memory at once (a whole 7B shard);
the streaming file writer keeps one tensor in memory and copies the rest through in chunks, never
decoding their dtype. `save_pretrained` keeps the library's writer for its in-memory model (the
library orders tensors its own way, and saved models stay byte-identical across zett versions)."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from tqdm.auto import tqdm

from zett.checkpoint.errors import CheckpointError
from zett.checkpoint.hf_dir import INDEX_FILE, SINGLE_FILE
from zett.checkpoint.index import DTYPES, SafetensorsFormatError
from zett.checkpoint.sources import TensorSource

_ALIGN = 8  # the reference writer pads the header so tensor data starts 8-byte aligned


def write_array(
    fout: BinaryIO, arr: np.ndarray, dtype: np.dtype, shape: Sequence[int], what: str
) -> None:
    """The array's raw bytes, after checking it has the dtype and shape its header entry promised."""
    if arr.dtype != dtype or tuple(arr.shape) != tuple(shape):
        raise SafetensorsFormatError(
            f"{what}: got {arr.dtype} {list(arr.shape)}, expected {dtype} {list(shape)}"
        )
    fout.write(np.ascontiguousarray(arr).reshape(-1).view(np.uint8).data)  # bf16: no buffer format


def write_file(
    path: Path,
    tensors: Sequence[TensorSource],
    metadata: dict[str, str] | None,
    on_tensor: Callable[[int], None] | None = None,
) -> int:
    """Writes one safetensors file, tensors in the given order, each copied or loaded when its turn
    comes; returns the data bytes. `on_tensor(nbytes)` is called after each tensor (progress)."""
    header: dict = {} if metadata is None else {"__metadata__": metadata}
    pos = 0
    for t in tensors:
        header[t.name] = {
            "dtype": t.dtype,
            "shape": list(t.shape),
            "data_offsets": [pos, pos + t.nbytes],
        }
        pos += t.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-(8 + len(blob)) % _ALIGN)
    with open(path, "wb") as fout:
        fout.write(struct.pack("<Q", len(blob)))
        fout.write(blob)
        for t in tensors:
            before = fout.tell()
            if t.copy is not None:
                t.copy(fout)
            else:
                write_array(fout, t.load(), DTYPES[t.dtype], t.shape, f"tensor {t.name!r}")
            if fout.tell() - before != t.nbytes:
                raise SafetensorsFormatError(
                    f"tensor {t.name!r}: wrote {fout.tell() - before} bytes, expected {t.nbytes}"
                )
            if on_tensor is not None:
                on_tensor(t.nbytes)
    return pos


def plan_shards(tensors: Sequence[TensorSource], max_bytes: int) -> list[list[TensorSource]]:
    """Consecutive groups of at most `max_bytes` (a larger tensor gets a shard of its own)."""
    shards: list[list[TensorSource]] = [[]]
    size = 0
    for t in tensors:
        if shards[-1] and size + t.nbytes > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(t)
        size += t.nbytes
    return shards


def write_sharded(
    directory: Path,
    tensors: Sequence[TensorSource],
    max_shard_bytes: int,
    metadata: dict[str, str] | None = None,
    *,
    progress: bool = False,
) -> list[str]:
    """Writes `model.safetensors`, or numbered shards + `model.safetensors.index.json` when the
    tensors exceed `max_shard_bytes`, into `directory`; returns the file names. The same tensors and
    metadata always give the same bytes (safetensors' own `save_file` orders metadata keys by a
    random hash seed, so it is not used)."""
    if max_shard_bytes <= 0:
        raise CheckpointError(f"max_shard_bytes must be positive, got {max_shard_bytes}")
    names = [t.name for t in tensors]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise CheckpointError(f"tensor {dup!r} would be written twice")
    meta = {"format": "pt", **(metadata or {})}  # transformers refuses files without format "pt"
    shards = plan_shards(tensors, max_shard_bytes)
    total = sum(t.nbytes for t in tensors)
    with tqdm(total=total, unit="B", unit_scale=True, desc="writing", disable=not progress) as bar:
        if len(shards) == 1:
            write_file(directory / SINGLE_FILE, shards[0], meta, bar.update)
            return [SINGLE_FILE]
        files = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
        for file, shard in zip(files, shards):
            write_file(directory / file, shard, meta, bar.update)
    wmap = {t.name: file for file, shard in zip(files, shards) for t in shard}
    index = {"metadata": {"total_size": int(total)}, "weight_map": wmap}
    (directory / INDEX_FILE).write_text(json.dumps(index, indent=2))
    return files + [INDEX_FILE]
