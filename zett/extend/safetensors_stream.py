"""Streaming safetensors I/O: a file written tensor by tensor (byte-copied or from one array at a
time), and a rewrite of one file where untouched tensors are byte-copied and chosen ones
transformed.

`safetensors.numpy.save_file` needs every tensor of a file in memory at once (a whole 7B shard);
this writer keeps one tensor in memory and copies the rest through in fixed-size chunks, and never
decodes their dtype (bf16/fp8 pass through untouched). `zett.transfer.stream` writes its shards with
it too."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import ml_dtypes
import numpy as np

# safetensors dtype tag → numpy dtype, for the tensors we transform (the others are copied as bytes)
NUMPY_DTYPES = {
    "F64": np.dtype(np.float64),
    "F32": np.dtype(np.float32),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype(np.int64),
    "I32": np.dtype(np.int32),
}
_CHUNK = 64 << 20
_ALIGN = 8  # the reference writer pads the header so tensor data starts 8-byte aligned


class SafetensorsFormatError(ValueError):
    """A file that is not a valid safetensors file."""


def read_header(path: Path) -> tuple[dict, int]:
    """(header {name: {dtype, shape, data_offsets}, "__metadata__": ...}, byte offset of the data)."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise SafetensorsFormatError(f"{path}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        if n > 100 << 20:
            raise SafetensorsFormatError(f"{path}: header of {n} bytes is implausible")
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SafetensorsFormatError(f"{path}: header is not JSON ({e})") from None
    return header, 8 + n


def read_array(path: Path, header: dict, start: int, name: str) -> np.ndarray:
    """One tensor as a numpy array (a copy, so the file can be closed/replaced)."""
    info = header[name]
    dtype = NUMPY_DTYPES.get(info["dtype"])
    if dtype is None:
        raise SafetensorsFormatError(
            f"{path}: tensor {name!r} has dtype {info['dtype']}, not a float/int table"
        )
    b, e = info["data_offsets"]
    count = int(np.prod(info["shape"], dtype=np.int64))
    if (e - b) != count * dtype.itemsize:
        raise SafetensorsFormatError(
            f"{path}: tensor {name!r} spans {e - b} bytes, expected {count * dtype.itemsize}"
        )
    arr = np.fromfile(path, dtype=dtype, count=count, offset=start + b)
    return arr.reshape(info["shape"])


@dataclass(frozen=True)
class ShardTensor:
    """One tensor of a file being written: its header fields and `write(fout)`, which must write
    exactly `nbytes`."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    write: Callable[[BinaryIO], None]


def write_file(
    path: Path,
    tensors: Sequence[ShardTensor],
    metadata: dict | None,
    on_tensor: Callable[[int], None] | None = None,
) -> int:
    """Writes a safetensors file, tensors in the given order, each streamed by its `write`; returns the
    data bytes. `on_tensor(nbytes)` is called after each tensor (progress)."""
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
            t.write(fout)
            if fout.tell() - before != t.nbytes:
                raise SafetensorsFormatError(
                    f"tensor {t.name!r}: wrote {fout.tell() - before} bytes, expected {t.nbytes}"
                )
            if on_tensor is not None:
                on_tensor(t.nbytes)
    return pos


def copy_range(fin: BinaryIO, offset: int, size: int, fout: BinaryIO, what: str) -> None:
    """`size` bytes of `fin` from `offset` into `fout`, `_CHUNK` at a time."""
    fin.seek(offset)
    left = size
    while left:
        chunk = fin.read(min(left, _CHUNK))
        if not chunk:
            raise SafetensorsFormatError(f"{what}: file ends inside the tensor")
        fout.write(chunk)
        left -= len(chunk)


def write_array(
    fout: BinaryIO, arr: np.ndarray, dtype: np.dtype, shape: Sequence[int], what: str
) -> None:
    """The array's raw bytes, after checking it has the dtype and shape its header entry promised."""
    if arr.dtype != dtype or tuple(arr.shape) != tuple(shape):
        raise SafetensorsFormatError(
            f"{what}: got {arr.dtype} {list(arr.shape)}, expected {dtype} {list(shape)}"
        )
    fout.write(
        np.ascontiguousarray(arr).reshape(-1).view(np.uint8).data
    )  # bf16 has no buffer format


def rewrite(
    src: Path,
    dst: Path,
    transforms: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    new_shapes: Mapping[str, tuple[int, ...]],
) -> int:
    """Copies `src` to `dst`, replacing tensor `name` by `transforms[name](old)` of shape
    `new_shapes[name]`.

    Tensor order and metadata are kept. Returns the number of tensor data bytes written."""
    header, start = read_header(src)
    meta = header.pop("__metadata__", None)
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    with open(src, "rb") as fin:

        def transformed(
            name: str, dtype: np.dtype, shape: tuple[int, ...]
        ) -> Callable[[BinaryIO], None]:
            return lambda fout: write_array(
                fout,
                transforms[name](read_array(src, header, start, name)),
                dtype,
                shape,
                f"transform of {name!r}",
            )

        def copied(name: str, b: int, e: int) -> Callable[[BinaryIO], None]:
            return lambda fout: copy_range(fin, start + b, e - b, fout, f"{src}: tensor {name!r}")

        plan: list[ShardTensor] = []
        for name in names:
            info = header[name]
            if name in transforms:
                dtype = NUMPY_DTYPES.get(info["dtype"])
                if dtype is None:
                    raise SafetensorsFormatError(
                        f"{src}: cannot transform {name!r} of dtype {info['dtype']}"
                    )
                shape = tuple(new_shapes[name])
                size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                plan.append(
                    ShardTensor(name, info["dtype"], shape, size, transformed(name, dtype, shape))
                )
            else:
                b, e = info["data_offsets"]
                plan.append(
                    ShardTensor(
                        name, info["dtype"], tuple(info["shape"]), e - b, copied(name, b, e)
                    )
                )
        return write_file(dst, plan, meta)
