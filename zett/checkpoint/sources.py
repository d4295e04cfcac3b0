"""Tensors of a checkpoint as sources to read or stream, one tensor in memory at a time.

A `TensorSource` says what a tensor is (name, dtype, shape) and how to produce its bytes: `copy`
streams them unchanged from a safetensors file (never decoded, so bf16/fp8 stay bit-identical);
`load` materialises the array (a dtype cast, a GGUF dequantisation, a new embedding table)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from zett.checkpoint.errors import CheckpointError
from zett.checkpoint.index import (
    DTYPES,
    FLOAT_TAGS,
    TAGS,
    SafetensorsFormatError,
    TensorEntry,
    by_file,
    tensor_entries,
)

_CHUNK = 64 << 20


@dataclass
class TensorSource:
    """One tensor to read or write: its name, safetensors dtype tag, shape and how to produce it.

    `copy(fout)`, when set, streams the bytes unchanged; otherwise `load()` materialises the array."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    load: Callable[[], np.ndarray]
    copy: Callable[[BinaryIO], None] | None = None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * DTYPES[self.dtype].itemsize


def copy_range(fin: BinaryIO, offset: int, size: int, fout: BinaryIO, what: str) -> None:
    """`size` bytes of `fin` from `offset` into `fout`, 64 MiB at a time."""
    fin.seek(offset)
    left = size
    while left:
        chunk = fin.read(min(left, _CHUNK))
        if not chunk:
            raise SafetensorsFormatError(f"{what}: file ends inside the tensor")
        fout.write(chunk)
        left -= len(chunk)


def _loader(name: str, e: TensorEntry) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        count = int(np.prod(e.shape, dtype=np.int64))
        try:
            arr = np.fromfile(e.file, dtype=DTYPES[e.dtype], count=count, offset=e.start)
            return arr.reshape(e.shape)
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{e.file}: cannot read tensor {name!r} ({err})") from None

    return load


def _copier(name: str, e: TensorEntry) -> Callable[[BinaryIO], None]:
    def copy(fout: BinaryIO) -> None:
        with open(e.file, "rb") as fin:
            copy_range(fin, e.start, e.nbytes, fout, f"{e.file}: tensor {name!r}")

    return copy


def safetensors_sources(path: str | Path, cast: np.dtype | None = None) -> list[TensorSource]:
    """Every tensor of a checkpoint (directory, index or file), file by file in data order.

    Tensors keep their dtype and are byte-copied when written; `cast` converts floating tensors
    of another dtype on the way (decoded, then written from the array)."""
    entries = tensor_entries(path)
    out: list[TensorSource] = []
    for names in by_file(entries).values():
        for name in sorted(names, key=lambda n: entries[n].start):
            e = entries[name]
            load = _loader(name, e)
            if cast is not None and e.dtype in FLOAT_TAGS and DTYPES[e.dtype] != cast:
                out.append(TensorSource(name, TAGS[cast], e.shape, _cast(load, cast)))
            else:
                out.append(TensorSource(name, e.dtype, e.shape, load, _copier(name, e)))
    return out


def _cast(load: Callable[[], np.ndarray], dtype: np.dtype) -> Callable[[], np.ndarray]:
    return lambda: load().astype(dtype)


def array_source(name: str, arr: np.ndarray) -> TensorSource:
    """An in-memory array as a tensor to write."""
    if arr.dtype not in TAGS:
        raise CheckpointError(
            f"tensor {name!r}: dtype {arr.dtype} cannot be written to safetensors here"
        )
    return TensorSource(name, TAGS[arr.dtype], tuple(arr.shape), lambda: arr)


class LazyTensors(Mapping):
    """name → numpy array of a safetensors checkpoint, read from disk only when accessed."""

    def __init__(self, path: str | Path):
        self._entries = tensor_entries(path)

    def __getitem__(self, name: str) -> np.ndarray:
        return _loader(name, self._entries[name])()

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:  # type: ignore[override]
        """File by file, so a sharded checkpoint is read shard after shard."""
        for names in by_file(self._entries).values():
            for name in names:
                yield name, self[name]


def iter_tensors(path: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """(name, array) one at a time from a checkpoint directory or file; memory holds one tensor."""
    yield from LazyTensors(path).items()


def read_tensor(path: str | Path, name: str) -> np.ndarray:
    """One tensor by name from a checkpoint directory, an index or a safetensors file."""
    entries = tensor_entries(path)
    if name not in entries:
        raise CheckpointError(f"{path}: no tensor named {name!r}")
    return _loader(name, entries[name])()
