"""A GGUF file as the source of `zett extend`: written once as a Hugging Face directory (float32
tensors, config.json, tokenizer files), which the extension then reads like any other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zett.checkpoint import (
    DEFAULT_MAX_SHARD_BYTES,
    gguf_sources,
    read_gguf,
    write_atomic,
    write_sharded,
)

GGUF_MAGIC = b"GGUF"


def is_gguf(path: Path) -> bool:
    """A file that says it is GGUF (by suffix or by its first four bytes)."""
    if not path.is_file():
        return False
    if path.suffix.lower() == ".gguf":
        return True
    with open(path, "rb") as f:
        return f.read(4) == GGUF_MAGIC


def gguf_as_hf_dir(src: Path, out: Path, tokenizer_only: bool = False) -> Path:
    """Writes `src`'s tokenizer files and (unless `tokenizer_only`) config.json and dequantised
    float32 safetensors into the existing empty directory `out`, as `zett convert` would."""
    g = read_gguf(src, tensors=False)
    g.save_tokenizer(out)
    if tokenizer_only:
        return out
    config = {**g.hf_config, "torch_dtype": "float32"}
    write_sharded(
        out, gguf_sources(g, np.dtype(np.float32)), DEFAULT_MAX_SHARD_BYTES, progress=True
    )
    write_atomic(out / "config.json", json.dumps(config, indent=2))
    return out


__all__ = ["gguf_as_hf_dir", "is_gguf"]
