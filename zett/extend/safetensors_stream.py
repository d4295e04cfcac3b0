"""Rewrites a safetensors file tensor by tensor: untouched tensors are byte-copied, chosen ones transformed.

`safetensors.numpy.save_file` needs every tensor of a file in memory at once (a whole 7B shard); this
writer keeps one transformed tensor in memory and copies the rest through in fixed-size chunks, and
never decodes their dtype (bf16/fp8 pass through untouched)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Callable, Mapping

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
        raise SafetensorsFormatError(f"{path}: tensor {name!r} has dtype {info['dtype']}, not a float/int table")
    b, e = info["data_offsets"]
    count = int(np.prod(info["shape"], dtype=np.int64))
    if (e - b) != count * dtype.itemsize:
        raise SafetensorsFormatError(f"{path}: tensor {name!r} spans {e - b} bytes, expected {count * dtype.itemsize}")
    arr = np.fromfile(path, dtype=dtype, count=count, offset=start + b)
    return arr.reshape(info["shape"])


def rewrite(
    src: Path,
    dst: Path,
    transforms: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    new_shapes: Mapping[str, tuple[int, ...]],
) -> int:
    """Copies `src` to `dst`, replacing tensor `name` by `transforms[name](old)` of shape `new_shapes[name]`.

    Tensor order and metadata are kept. Returns the number of tensor data bytes written."""
    header, start = read_header(src)
    meta = header.pop("__metadata__", None)
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    out_header: dict = {}
    if meta is not None:
        out_header["__metadata__"] = meta
    pos = 0
    for name in names:
        info = header[name]
        if name in transforms:
            dtype = NUMPY_DTYPES.get(info["dtype"])
            if dtype is None:
                raise SafetensorsFormatError(f"{src}: cannot transform {name!r} of dtype {info['dtype']}")
            shape = list(new_shapes[name])
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        else:
            shape = info["shape"]
            b, e = info["data_offsets"]
            size = e - b
        out_header[name] = {"dtype": info["dtype"], "shape": shape, "data_offsets": [pos, pos + size]}
        pos += size
    blob = json.dumps(out_header, separators=(",", ":")).encode()
    blob += b" " * (-(8 + len(blob)) % _ALIGN)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(struct.pack("<Q", len(blob)))
        fout.write(blob)
        for name in names:
            want = out_header[name]
            if name in transforms:
                new = transforms[name](read_array(src, header, start, name))
                expect = NUMPY_DTYPES[want["dtype"]]
                if new.dtype != expect or list(new.shape) != want["shape"]:
                    raise SafetensorsFormatError(
                        f"transform of {name!r} returned {new.dtype} {list(new.shape)}, expected {expect} {want['shape']}"
                    )
                fout.write(np.ascontiguousarray(new).reshape(-1).view(np.uint8).data)  # bf16 has no buffer format
                del new
            else:
                b, e = header[name]["data_offsets"]
                fin.seek(start + b)
                left = e - b
                while left:
                    chunk = fin.read(min(left, _CHUNK))
                    if not chunk:
                        raise SafetensorsFormatError(f"{src}: file ends inside tensor {name!r}")
                    fout.write(chunk)
                    left -= len(chunk)
    return pos
