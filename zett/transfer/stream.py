"""Streams a checkpoint's tensors into new safetensors shards, one tensor in memory at a time.

Sources: an HF directory (untouched tensors are byte-copied from the source file in chunks, so
their dtype is never decoded and they stay bit-identical) or a GGUF file (dequantised tensor by
tensor into Hugging Face naming). Replaced tensors (the new embedding tables) come from memory."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from tqdm.auto import tqdm

from zett.extend.safetensors_stream import (
    NUMPY_DTYPES,
    SafetensorsFormatError,
    ShardTensor,
    copy_range,
    read_header,
    write_array,
    write_file,
)
from zett.models.hf_io import INDEX_FILE, SINGLE_FILE, weight_map
from zett.models.weights import CheckpointError

# safetensors dtype tag ↔ numpy dtype (only float/int tables are ever decoded)
DTYPES: dict[str, np.dtype] = NUMPY_DTYPES
TAGS: dict[np.dtype, str] = {v: k for k, v in DTYPES.items()}


@dataclass
class TensorSource:
    """One tensor to write: its name, safetensors dtype tag, shape and how to produce its bytes.

    `copy(fout)` streams the bytes unchanged when set (a safetensors source in its own dtype);
    otherwise `load()` materialises the array (GGUF dequantisation, dtype casts)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    load: Callable[[], np.ndarray]
    copy: Callable[[BinaryIO], None] | None = None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * DTYPES_SIZE[self.dtype]


DTYPES_SIZE = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
}


def _read_header(path: Path) -> tuple[dict, int]:
    """The safetensors header and data offset, with format problems reported as `CheckpointError`."""
    try:
        return read_header(path)
    except SafetensorsFormatError as e:
        raise CheckpointError(f"safetensors: {e}") from None


def _byte_copier(path: Path, offset: int, size: int, name: str) -> Callable[[BinaryIO], None]:
    def copy(fout: BinaryIO) -> None:
        with open(path, "rb") as fin:
            copy_range(fin, offset, size, fout, f"{path}: tensor {name!r}")

    return copy


def _array_loader(
    path: Path, offset: int, dtype: np.dtype, shape: tuple[int, ...]
) -> Callable[[], np.ndarray]:
    count = int(np.prod(shape, dtype=np.int64))
    return lambda: np.fromfile(path, dtype=dtype, count=count, offset=offset).reshape(shape)


def safetensors_sources(directory: Path, cast: np.dtype | None = None) -> list[TensorSource]:
    """Every tensor of an HF directory in file order; `cast` converts floating tensors on the way."""
    by_file: dict[Path, list[str]] = {}
    for name, file in weight_map(directory).items():
        by_file.setdefault(file, []).append(name)
    out: list[TensorSource] = []
    for file in by_file:
        header, start = _read_header(file)
        header.pop("__metadata__", None)
        for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
            info = header[name]
            b, e = info["data_offsets"]
            tag, shape = info["dtype"], tuple(info["shape"])
            if tag not in DTYPES_SIZE:
                raise CheckpointError(f"{file}: tensor {name!r} has unknown dtype {tag}")
            if e - b != int(np.prod(shape, dtype=np.int64)) * DTYPES_SIZE[tag]:
                raise CheckpointError(
                    f"{file}: tensor {name!r} spans {e - b} bytes, its shape {shape} needs another "
                    f"size"
                )
            np_dtype = DTYPES.get(tag)
            load = (
                _array_loader(file, start + b, np_dtype, shape)
                if np_dtype is not None
                else _unreadable(file, name, tag)
            )
            if (
                cast is not None
                and np_dtype is not None
                and np_dtype.kind == "f"
                and np_dtype != cast
            ):
                out.append(TensorSource(name, TAGS[cast], shape, _cast(load, cast)))
            else:
                out.append(
                    TensorSource(name, tag, shape, load, _byte_copier(file, start + b, e - b, name))
                )
    return out


def _unreadable(file: Path, name: str, tag: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        raise CheckpointError(f"{file}: tensor {name!r} has dtype {tag}, which zett cannot decode")

    return load


def _cast(load: Callable[[], np.ndarray], dtype: np.dtype) -> Callable[[], np.ndarray]:
    return lambda: load().astype(dtype)


def gguf_sources(
    path: Path, num_heads: int, num_kv_heads: int, dtype: np.dtype
) -> list[TensorSource]:
    """Every tensor of a GGUF file under its HF name, dequantised on demand (float `dtype`)."""
    from zett.models.gguf_io import _dequantize, hf_tensor_name, unpermute_rotary
    from zett.models.gguf_reader import GGUFFile, GGUFFormatError

    try:
        f = GGUFFile(path)
    except GGUFFormatError as e:
        raise CheckpointError(str(e)) from None
    arch = f.metadata.get("general.architecture")
    out: list[TensorSource] = []
    for gname, info in f.tensors.items():
        hf = hf_tensor_name(gname, arch)
        if hf is None:
            raise CheckpointError(
                f"{path}: tensor {gname!r} has no Hugging Face counterpart for {arch}"
            )

        # the same conventions `read_gguf` undoes: llama q/k rotary permutation, Gemma norms as 1 +
        # w
        def load(gname: str = gname) -> np.ndarray:
            w = _dequantize(f, gname)
            if arch == "llama" and ".attn_q." in gname:
                w = unpermute_rotary(w, num_heads)
            elif arch == "llama" and ".attn_k." in gname:
                w = unpermute_rotary(w, num_kv_heads)
            elif arch == "gemma3" and gname.endswith("norm.weight"):
                w = w - 1.0
            return w.astype(dtype, copy=False)

        out.append(TensorSource(hf, TAGS[dtype], tuple(info.shape), load))
    return out


def plan_shards(tensors: list[TensorSource], max_bytes: int) -> list[list[TensorSource]]:
    shards: list[list[TensorSource]] = [[]]
    size = 0
    for t in tensors:
        if shards[-1] and size + t.nbytes > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(t)
        size += t.nbytes
    return shards


def _write_shard(
    file: Path, tensors: list[TensorSource], metadata: dict[str, str], bar: tqdm
) -> None:
    def from_array(t: TensorSource) -> Callable[[BinaryIO], None]:
        return lambda fout: write_array(
            fout, t.load(), DTYPES[t.dtype], t.shape, f"tensor {t.name!r}"
        )

    plan = [
        ShardTensor(t.name, t.dtype, t.shape, t.nbytes, t.copy or from_array(t)) for t in tensors
    ]
    try:
        write_file(file, plan, metadata, bar.update)
    except SafetensorsFormatError as e:
        raise CheckpointError(str(e)) from None


def write_checkpoint(
    directory: Path, tensors: list[TensorSource], max_shard_bytes: int, progress: bool = True
) -> list[str]:
    """Writes `model.safetensors` or numbered shards + index into `directory`; returns the file
    names."""
    names = [t.name for t in tensors]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise CheckpointError(f"tensor {dup!r} would be written twice")
    shards = plan_shards(tensors, max_shard_bytes)
    meta = {"format": "pt"}  # transformers refuses files without format "pt"
    total = sum(t.nbytes for t in tensors)
    with tqdm(total=total, unit="B", unit_scale=True, desc="writing", disable=not progress) as bar:
        if len(shards) == 1:
            _write_shard(directory / SINGLE_FILE, shards[0], meta, bar)
            return [SINGLE_FILE]
        files = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
        wmap: dict[str, str] = {}
        for file, shard in zip(files, shards):
            _write_shard(directory / file, shard, meta, bar)
            wmap.update({t.name: file for t in shard})
    index = {"metadata": {"total_size": int(total)}, "weight_map": wmap}
    (directory / INDEX_FILE).write_text(json.dumps(index, indent=2))
    return files + [INDEX_FILE]


def array_source(name: str, arr: np.ndarray) -> TensorSource:
    if arr.dtype not in TAGS:
        raise CheckpointError(
            f"tensor {name!r}: dtype {arr.dtype} cannot be written to safetensors here"
        )
    return TensorSource(name, TAGS[arr.dtype], tuple(arr.shape), lambda: arr)
