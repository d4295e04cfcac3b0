"""What a safetensors checkpoint holds, from its file headers and index alone (no tensor data read).

One header reader for every caller (model loading, `zett transfer`, `zett extend`): the header is
checked as the safetensors library checks it (known dtype, offsets matching the shape, data inside
the file), so a damaged file fails here, naming the file, before any expensive work."""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import ml_dtypes
import numpy as np

from zett.checkpoint.errors import CheckpointError
from zett.checkpoint.hf_dir import INDEX_FILE, SINGLE_FILE

# safetensors dtype tag ↔ numpy dtype
DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype(np.float64),
    "F32": np.dtype(np.float32),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
    "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
    "I64": np.dtype(np.int64),
    "I32": np.dtype(np.int32),
    "I16": np.dtype(np.int16),
    "I8": np.dtype(np.int8),
    "U64": np.dtype(np.uint64),
    "U32": np.dtype(np.uint32),
    "U16": np.dtype(np.uint16),
    "U8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_),
}
TAGS: dict[np.dtype, str] = {v: k for k, v in DTYPES.items()}
# by tag, not numpy kind: ml_dtypes' bfloat16 and float8_e4m3fn have kind "V", not "f"
FLOAT_TAGS = frozenset(t for t in DTYPES if t.startswith(("F", "BF")))
_MAX_HEADER = 100 << 20  # the safetensors library's own limit


class SafetensorsFormatError(CheckpointError):
    """A file that is not a valid safetensors file."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor's bytes are: `file`, from absolute byte `start`, `nbytes` long."""

    file: Path
    dtype: str  # safetensors tag, a key of DTYPES
    shape: tuple[int, ...]
    start: int
    nbytes: int


def read_header(path: Path) -> tuple[dict, int]:
    """(header {name: {dtype, shape, data_offsets}, "__metadata__": ...}, byte offset of the data),
    after checking every entry against the file."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise SafetensorsFormatError(f"{path}: too short for a safetensors header")
        (n,) = struct.unpack("<Q", raw)
        if n > _MAX_HEADER:
            raise SafetensorsFormatError(f"{path}: header of {n} bytes is implausible")
        blob = f.read(n)
        if len(blob) != n:
            raise SafetensorsFormatError(f"{path}: file ends inside the header (truncated?)")
        size = os.fstat(f.fileno()).st_size
    try:
        header = json.loads(blob)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SafetensorsFormatError(f"{path}: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsFormatError(f"{path}: header is not a JSON object")
    for name, info in header.items():
        if name != "__metadata__":
            _check_entry(path, name, info, size - 8 - n)
    return header, 8 + n


def _check_entry(path: Path, name: str, info: object, data_size: int) -> None:
    try:
        tag, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]  # type: ignore[index]
        ok = all(isinstance(d, int) and d >= 0 for d in (*shape, b, e)) and b <= e
    except (TypeError, KeyError, ValueError):
        ok = False
    if not ok:
        raise SafetensorsFormatError(f"{path}: header entry of tensor {name!r} is malformed")
    if tag not in DTYPES:
        raise SafetensorsFormatError(f"{path}: tensor {name!r} has unknown dtype {tag}")
    if e - b != int(np.prod(shape, dtype=np.int64)) * DTYPES[tag].itemsize:
        raise SafetensorsFormatError(
            f"{path}: tensor {name!r} spans {e - b} bytes, its shape {tuple(shape)} needs another "
            f"size"
        )
    if e > data_size:
        raise SafetensorsFormatError(
            f"{path}: tensor data not fully covered: tensor {name!r} needs {e} data bytes, the file "
            f"has {data_size} (truncated?)"
        )


def file_entries(file: Path) -> dict[str, TensorEntry]:
    """Every tensor of one safetensors file, by name."""
    header, start = read_header(file)
    header.pop("__metadata__", None)
    return {
        name: TensorEntry(
            file, info["dtype"], tuple(info["shape"]), start + info["data_offsets"][0], _len(info)
        )
        for name, info in sorted(header.items())
    }


def _len(info: dict) -> int:
    b, e = info["data_offsets"]
    return e - b


def read_index(index: Path) -> dict:
    """The document of a model.safetensors.index.json, its weight_map checked to map names to files."""
    try:
        data = json.loads(index.read_text())
        entries = data["weight_map"]
        if not isinstance(entries, dict) or not all(isinstance(f, str) for f in entries.values()):
            raise TypeError("weight_map is not a mapping of names to files")
    except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{index}: not a valid safetensors index ({e})") from None
    return data


def tensor_entries(path: str | Path) -> dict[str, TensorEntry]:
    """Every tensor of a checkpoint by name: a directory (single file or sharded), an index or one
    file. Index order for a sharded checkpoint; every listed shard and tensor must exist."""
    path = Path(path)
    if path.is_file():
        return _index_entries(path) if path.name == INDEX_FILE else file_entries(path)
    if (path / INDEX_FILE).exists():
        return _index_entries(path / INDEX_FILE)
    if (path / SINGLE_FILE).exists():
        return file_entries(path / SINGLE_FILE)
    found = sorted(path.glob("*.safetensors"))
    pickles = sorted(p.name for ext in ("*.bin", "*.pt", "*.pth", "*.ckpt") for p in path.glob(ext))
    if pickles and not found:
        raise CheckpointError(
            f"{path}: holds only pickle weights ({', '.join(pickles)}), which zett does not load "
            "(unpickling can run arbitrary code); re-save them as safetensors, e.g. with "
            "transformers' save_pretrained(..., safe_serialization=True)"
        )
    raise CheckpointError(
        f"{path}: no {SINGLE_FILE} or {INDEX_FILE}"
        + (f" (found {[p.name for p in found]})" if found else "")
    )


def _index_entries(index: Path) -> dict[str, TensorEntry]:
    listed = {name: index.parent / f for name, f in read_index(index)["weight_map"].items()}
    in_file: dict[Path, dict[str, TensorEntry]] = {}
    for name, file in listed.items():
        if file not in in_file:
            if not file.exists():
                raise CheckpointError(
                    f"{index}: shard {file.name} (holding {name!r}, ...) does not exist"
                )
            in_file[file] = file_entries(file)
        if name not in in_file[file]:
            raise CheckpointError(
                f"{index}: tensor {name!r} is listed in {file.name} but is not in that file"
            )
    return {name: in_file[file][name] for name, file in listed.items()}


def by_file(entries: dict[str, TensorEntry]) -> dict[Path, list[str]]:
    """{file: [names]}, files in order of first appearance."""
    out: dict[Path, list[str]] = {}
    for name, e in entries.items():
        out.setdefault(e.file, []).append(name)
    return out


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Name → shape from the headers alone."""
    return {name: e.shape for name, e in tensor_entries(path).items()}
