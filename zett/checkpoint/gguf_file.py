"""A fast GGUF header reader: metadata as Python/numpy values, tensors as raw memory-mapped bytes.

`gguf.GGUFReader` builds one numpy memmap view per array element, which takes 20-100 s on a
262k-token vocabulary; this parser reads the same header in about a second and leaves the
dequantisation to `gguf.quants.dequantize`."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from zett.checkpoint.errors import CheckpointError

GGUF_MAGIC = b"GGUF"
# GGUFValueType → numpy dtype of fixed-size scalars (8 STRING and 9 ARRAY are variable-size)
_SCALAR = {
    0: np.uint8,
    1: np.int8,
    2: np.uint16,
    3: np.int16,
    4: np.uint32,
    5: np.int32,
    6: np.float32,
    7: np.bool_,
    10: np.uint64,
    11: np.int64,
    12: np.float64,
}
_STRING, _ARRAY = 8, 9


class GGUFFormatError(CheckpointError):
    """The bytes are not a well-formed GGUF file."""


@dataclass(frozen=True)
class TensorInfo:
    """shape: numpy order (outermost first, i.e. reversed GGUF dims); data: raw bytes [n_bytes]
    uint8."""

    name: str
    qtype: int
    shape: tuple[int, ...]
    offset: int
    n_bytes: int


class _Cursor:
    def __init__(self, buf: memoryview, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int, what: str) -> memoryview:
        if self.pos + n > len(self.buf):
            raise GGUFFormatError(
                f"{self.path}: file ends inside {what} (offset {self.pos}, truncated?)"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack("<Q", self.take(8, what))[0]

    def string(self, what: str) -> str:
        n = self.u64(what)
        try:
            return str(self.take(n, what), "utf-8")
        except UnicodeDecodeError as e:
            raise GGUFFormatError(f"{self.path}: {what} is not valid UTF-8 ({e})") from None

    def value(self, vtype: int, what: str) -> Any:
        if vtype in _SCALAR:
            dt = np.dtype(_SCALAR[vtype])
            return np.frombuffer(self.take(dt.itemsize, what), dt)[0].item()
        if vtype == _STRING:
            return self.string(what)
        if vtype == _ARRAY:
            etype, count = self.u32(what), self.u64(what)
            if etype in _SCALAR:
                dt = np.dtype(_SCALAR[etype]).newbyteorder("<")
                return np.frombuffer(self.take(dt.itemsize * count, what), dt).copy()
            if etype == _STRING:
                return [self.string(what) for _ in range(count)]
            if etype == _ARRAY:
                return [self.value(_ARRAY, what) for _ in range(count)]
            raise GGUFFormatError(f"{self.path}: unknown array element type {etype} in {what}")
        raise GGUFFormatError(f"{self.path}: unknown value type {vtype} in {what}")


class GGUFFile:
    """An open GGUF file: `.metadata` (key → value), `.tensors` (name → TensorInfo), `.raw(name)`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._mm = np.memmap(self.path, dtype=np.uint8, mode="r")
        cur = _Cursor(memoryview(self._mm), self.path)
        if bytes(cur.take(4, "the magic number")) != GGUF_MAGIC:
            raise GGUFFormatError(f"{self.path}: not a GGUF file (bad magic number)")
        self.version = cur.u32("the version")
        if self.version not in (2, 3):
            raise GGUFFormatError(
                f"{self.path}: unsupported GGUF version {self.version} (or big-endian file)"
            )
        n_tensors, n_kv = cur.u64("the tensor count"), cur.u64("the key count")
        self.metadata: dict[str, Any] = {}
        for i in range(n_kv):
            key = cur.string(f"metadata key #{i}")
            self.metadata[key] = cur.value(cur.u32(f"type of {key!r}"), f"metadata value {key!r}")
        infos = []
        for i in range(n_tensors):
            name = cur.string(f"tensor info #{i}")
            n_dims = cur.u32(f"tensor {name!r} info")
            dims = [cur.u64(f"tensor {name!r} info") for _ in range(n_dims)]
            qtype, offset = cur.u32(f"tensor {name!r} info"), cur.u64(f"tensor {name!r} info")
            try:
                block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(qtype)]
            except (ValueError, KeyError):
                raise GGUFFormatError(
                    f"{self.path}: tensor {name!r} has unknown type {qtype}"
                ) from None
            n = int(np.prod(dims, dtype=np.int64)) if dims else 1
            shape = tuple(int(d) for d in reversed(dims))
            infos.append(TensorInfo(name, qtype, shape, offset, n // block * type_size))
        align = int(self.metadata.get("general.alignment", 32))
        self.data_start = (cur.pos + align - 1) // align * align
        self.tensors = {t.name: t for t in infos}

    def raw(self, name: str) -> np.ndarray:
        """The tensor's bytes as a uint8 array shaped for `gguf.quants.dequantize` (no copy)."""
        t = self.tensors[name]
        start = self.data_start + t.offset
        if start + t.n_bytes > self._mm.shape[0]:
            raise GGUFFormatError(
                f"{self.path}: tensor {name!r} needs bytes {start}..{start + t.n_bytes}, "
                f"but the file has {self._mm.shape[0]} (truncated?)"
            )
        data = self._mm[start : start + t.n_bytes]
        return data.reshape(
            gguf.quant_shape_to_byte_shape(t.shape, gguf.GGMLQuantizationType(t.qtype))
        )
