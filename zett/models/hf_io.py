"""Hugging Face checkpoints in and out of a LanguageModel: directories, hub ids and GGUF files →
LanguageModel → HF directory. The files themselves are `zett.checkpoint`'s."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from zett.checkpoint import (
    CONFIG_FILE,
    DEFAULT_MAX_SHARD_BYTES,
    INDEX_FILE,
    PROVENANCE_FILE,
    SINGLE_FILE,
    TOKENIZER_FILES,
    CheckpointError,
    LazyTensors,
    array_source,
    atomic_dir,
    copy_tokenizer_files,
    read_gguf,
    read_hf_config,
    resolve,
    write_sharded,
)
from zett.models import registry
from zett.models.api import LanguageModel
from zett.models.config import ModelConfig
from zett.models.weights import assign_weights, export_weights


# --- sources: directory, hub id, GGUF ---------------------------------------------------------
@dataclass
class Checkpoint:
    """What a loadable source offers: its HF config, its tensors (HF names) and its tokenizer."""

    label: str  # the file or directory errors name
    hf_config: dict[str, Any]
    tensors: Mapping[str, np.ndarray]
    save_tokenizer: Callable[[Path], list[str]] | None = None  # writes them, returns the names


def open_checkpoint(path_or_hub_id: str | Path) -> Checkpoint:
    """A source's config, lazily read tensors and tokenizer; nothing is converted yet."""
    path = resolve(path_or_hub_id)
    if path.is_file() and path.suffix == ".gguf":
        g = read_gguf(path)

        def save_gguf_tokenizer(out: Path) -> list[str]:
            before = set(os.listdir(out))
            g.save_tokenizer(out)
            return sorted(set(os.listdir(out)) - before)

        return Checkpoint(str(path), dict(g.hf_config), g.tensors, save_gguf_tokenizer)
    if path.is_file():
        raise CheckpointError(
            f"{path}: expected a model directory (config.json + safetensors) or a .gguf file"
        )
    hf = read_hf_config(path)
    # an unsupported architecture is the more useful error than its tensors
    registry.config_from_hf(hf)
    tensors = LazyTensors(path)
    label = str(path / INDEX_FILE) if (path / INDEX_FILE).exists() else str(path / SINGLE_FILE)
    has_tok = any((path / n).is_file() for n in TOKENIZER_FILES)
    save_tok = (lambda out: copy_tokenizer_files(path, out)) if has_tok else None
    return Checkpoint(label, hf, tensors, save_tok)


# --- load ---------------------------------------------------------------------------------------
def model_from_checkpoint(
    ckpt: Checkpoint, dtype: str = "float32", param_dtype: str | None = None
) -> LanguageModel:
    """Builds the model of `ckpt`'s config and fills every parameter; raises on any mismatch."""
    config = registry.config_from_hf(ckpt.hf_config).replace(
        dtype=dtype, param_dtype=param_dtype or dtype
    )
    return model_from_tensors(config, ckpt.tensors, ckpt.label)


# names older checkpoints still use (TF-converted BERTs); transformers renames them the same way on
# load
_LEGACY_RENAMES = (
    (re.compile(r"LayerNorm\.gamma$"), "LayerNorm.weight"),
    (re.compile(r"LayerNorm\.beta$"), "LayerNorm.bias"),
)


class RenamedTensors(Mapping):
    """A view of `tensors` under new names (new → old); iteration keeps the source's streaming
    order."""

    def __init__(self, tensors: Mapping[str, np.ndarray], renames: dict[str, str]):
        self._src, self._old = tensors, renames
        self._new = {old: new for new, old in renames.items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self._src[self._old.get(name, name)]

    def __iter__(self) -> Iterator[str]:
        return (self._new.get(n, n) for n in self._src)

    def __len__(self) -> int:
        return len(self._src)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:  # type: ignore[override]
        return ((self._new.get(n, n), v) for n, v in self._src.items())


def legacy_renamed(tensors: Mapping[str, np.ndarray], label: str) -> Mapping[str, np.ndarray]:
    renames: dict[str, str] = {}
    for name in tensors:
        for pattern, repl in _LEGACY_RENAMES:
            new = pattern.sub(repl, name)
            if new != name:
                if new in tensors:
                    raise CheckpointError(f"{label}: holds both {name!r} and {new!r}")
                renames[new] = name
    return RenamedTensors(tensors, renames) if renames else tensors


def model_from_tensors(
    config: ModelConfig, tensors: Mapping[str, np.ndarray], label: str
) -> LanguageModel:
    tensors = legacy_renamed(tensors, label)
    model = registry.abstract_model(config)
    ignore = registry.ignored_for(config)
    assign_weights(model, tensors, registry.rules_for(config), source=label, ignore=ignore)
    _warn_dropped(tensors, ignore, label)
    if _has_abstract_state(model):
        # the family keeps non-parameter state (e.g. tables built in __init__): build it for real
        concrete = registry.build_model(config)
        assign_weights(concrete, tensors, registry.rules_for(config), source=label, ignore=ignore)
        model = concrete
    return model


def _warn_dropped(tensors: Mapping[str, np.ndarray], ignore: tuple[str, ...], label: str) -> None:
    dropped = [n for n in tensors if any(re.fullmatch(p, n) for p in ignore)]
    # buffers and tied duplicates are not information; anything else dropped is worth a word
    notable = [n for n in dropped if not re.search(r"position_ids$|decoder\.(weight|bias)$", n)]
    if notable:
        warnings.warn(
            f"{label}: zett does not use {notable[:6]}{' ...' if len(notable) > 6 else ''}; not "
            "loaded",
            stacklevel=2,
        )


def num_params(model: nnx.Module) -> int:
    return sum(
        int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(nnx.state(model, nnx.Param))
    )


def _has_abstract_state(model: nnx.Module) -> bool:
    leaves = jax.tree_util.tree_leaves(nnx.state(model))
    return any(isinstance(x, jax.ShapeDtypeStruct) for x in leaves)


def load_pretrained(
    path_or_hub_id: str | Path, dtype: str = "float32", param_dtype: str | None = None
) -> LanguageModel:
    """A model from an HF directory, a hub id or a .gguf file; params in `param_dtype` (default
    `dtype`)."""
    return model_from_checkpoint(open_checkpoint(path_or_hub_id), dtype, param_dtype)


# --- save ---------------------------------------------------------------------------------------
def save_pretrained(
    model: LanguageModel,
    out_dir: str | Path,
    tokenizer_dir_or_files: str | Path | list[str | Path] | Callable[[Path], Any] | None = None,
    provenance: dict[str, Any] | None = None,
    *,
    overwrite: bool = False,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    tokenizer_files: str | Path | list[str | Path] | None = None,
) -> Path:
    """Writes an HF directory (config.json, safetensors, tokenizer files, zett_provenance.json).

    Everything is written into a temp dir beside `out_dir` and renamed into place at the end, so a
    failure never leaves a half-written model. `tokenizer_dir_or_files`: a directory to copy the
    tokenizer files from, a list of files, or a function writing them into the directory it is
    given."""
    tokenizer = tokenizer_dir_or_files if tokenizer_dir_or_files is not None else tokenizer_files
    out = Path(out_dir).absolute()
    with atomic_dir(out, overwrite) as tmp:
        hf = registry.hf_config_from(model.config)
        (tmp / CONFIG_FILE).write_text(json.dumps(hf, indent=2, sort_keys=True) + "\n")
        tensors = export_weights(model, registry.rules_for(model.config))
        meta = (
            {"zett_provenance": json.dumps(provenance, sort_keys=True, default=str)}
            if provenance
            else None
        )
        sources = [array_source(name, arr) for name, arr in tensors.items()]
        write_sharded(tmp, sources, max_shard_bytes, meta)
        if callable(tokenizer):
            tokenizer(tmp)
        elif tokenizer is not None:
            copy_tokenizer_files(tokenizer, tmp)
        if provenance:
            (tmp / PROVENANCE_FILE).write_text(
                json.dumps(provenance, indent=2, sort_keys=True, default=str) + "\n"
            )
    return out
