"""Hugging Face checkpoints in and out: directories, hub ids and GGUF files → LanguageModel → HF
directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from zett.models import registry
from zett.models.api import LanguageModel
from zett.models.config import ModelConfig
from zett.models.weights import CheckpointError, assign_weights, export_weights

CONFIG_FILE = "config.json"
SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
PROVENANCE_FILE = "zett_provenance.json"
DEFAULT_MAX_SHARD_BYTES = 5 * 2**30
# tokenizer files transformers / tokenizers / sentencepiece read from a model directory
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "sentencepiece.bpe.model",
    "spiece.model",
    "chat_template.jinja",
    "chat_template.json",
)
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"]
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


# --- safetensors, read lazily ------------------------------------------------------------------
def _open(file: Path):
    try:
        return safe_open(str(file), framework="numpy")
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{file}: not a readable safetensors file ({e})") from None


def weight_map(path: str | Path) -> dict[str, Path]:
    """Tensor name → the safetensors file holding it, for a directory (single or sharded) or one
    file."""
    path = Path(path)
    if path.is_file():
        if path.name == INDEX_FILE:
            return _index_map(path)
        with _open(path) as f:
            return {name: path for name in f.keys()}
    if (path / INDEX_FILE).exists():
        return _index_map(path / INDEX_FILE)
    if (path / SINGLE_FILE).exists():
        return weight_map(path / SINGLE_FILE)
    found = sorted(path.glob("*.safetensors"))
    raise CheckpointError(
        f"{path}: no {SINGLE_FILE} or {INDEX_FILE}"
        + (f" (found {[p.name for p in found]})" if found else "")
    )


def _index_map(index: Path) -> dict[str, Path]:
    try:
        data = json.loads(index.read_text())
        entries = data["weight_map"]
        if not isinstance(entries, dict):
            raise TypeError("weight_map is not a mapping")
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{index}: not a valid safetensors index ({e})") from None
    out = {name: index.parent / file for name, file in entries.items()}
    by_file: dict[Path, list[str]] = {}
    for name, file in out.items():
        by_file.setdefault(file, []).append(name)
    for file, names in by_file.items():
        if not file.exists():
            raise CheckpointError(
                f"{index}: shard {file.name} (holding {names[0]!r}, ...) does not exist"
            )
        with _open(file) as f:
            present = set(f.keys())
        absent = [n for n in names if n not in present]
        if absent:
            raise CheckpointError(
                f"{index}: tensor {absent[0]!r} is listed in {file.name} but is not in that file"
            )
    return out


class LazyTensors(Mapping):
    """name → numpy array, read from disk only when accessed; iteration opens each shard once."""

    def __init__(self, mapping: dict[str, Path]):
        self._map = mapping

    def __getitem__(self, name: str) -> np.ndarray:
        return read_tensor(self._map[name], name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:  # type: ignore[override]
        by_file: dict[Path, list[str]] = {}
        for name, file in self._map.items():
            by_file.setdefault(file, []).append(name)
        for file, names in by_file.items():
            with _open(file) as f:
                for name in names:
                    yield name, _get(f, file, name)

    def file_of(self, name: str) -> Path:
        return self._map[name]


def _get(f: Any, file: Path, name: str) -> np.ndarray:
    try:
        return f.get_tensor(name)
    except (SafetensorError, OSError, ValueError, TypeError) as e:
        raise CheckpointError(f"{file}: cannot read tensor {name!r} ({e})") from None


def iter_tensors(path: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """(name, array) one at a time from a checkpoint directory or file; memory holds one tensor."""
    yield from LazyTensors(weight_map(path)).items()


def read_tensor(path: str | Path, name: str) -> np.ndarray:
    """One tensor by HF name from a checkpoint directory, an index or a safetensors file."""
    path = Path(path)
    file = path if path.suffix == ".safetensors" else weight_map(path).get(name)
    if file is None:
        raise CheckpointError(f"{path}: no tensor named {name!r}")
    with _open(file) as f:
        if name not in f.keys():
            raise CheckpointError(f"{file}: no tensor named {name!r}")
        return _get(f, file, name)


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Name → shape from the safetensors headers alone (no tensor data is read)."""
    out: dict[str, tuple[int, ...]] = {}
    for name, file in weight_map(path).items():
        with _open(file) as f:
            out[name] = tuple(f.get_slice(name).get_shape())
    return out


# --- sources: directory, hub id, GGUF ---------------------------------------------------------
@dataclass
class Checkpoint:
    """What a loadable source offers: its HF config, its tensors (HF names) and its tokenizer."""

    label: str  # the file or directory errors name
    hf_config: dict[str, Any]
    tensors: Mapping[str, np.ndarray]
    save_tokenizer: Callable[[Path], list[str]] | None = (
        None  # writes tokenizer files, returns names
    )


def resolve(path_or_hub_id: str | Path) -> Path:
    """A local path as is; a packaged-model alias (`smollm2`, `gemma3`, `minilm`) to its file; a hub
    id (`org/name`) downloaded with huggingface_hub when it is not a path."""
    from zett.assets import resolve as resolve_alias

    path = Path(os.path.expanduser(resolve_alias(str(path_or_hub_id))))
    if path.exists():
        return path
    text = str(path_or_hub_id)
    if not _HUB_ID.fullmatch(text) or text.endswith((".gguf", ".safetensors", ".json")):
        raise FileNotFoundError(f"{text}: no such file or directory")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        return Path(snapshot_download(repo_id=text, allow_patterns=_HUB_PATTERNS))
    except RepositoryNotFoundError:
        raise CheckpointError(
            f"{text}: not a local path, and no such model on the Hugging Face hub"
        ) from None
    except Exception as e:  # offline, DNS, proxy, HTTP errors all mean the same to the user
        raise CheckpointError(
            f"{text}: not a local path, and the Hugging Face hub cannot be reached to download it "
            f"({type(e).__name__}); pass a local model directory or .gguf file instead"
        ) from None


def read_hf_config(directory: Path) -> dict[str, Any]:
    file = directory / CONFIG_FILE
    if not file.exists():
        raise CheckpointError(f"{directory}: no {CONFIG_FILE}; not a Hugging Face model directory")
    try:
        data = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{file}: invalid JSON ({e})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{file}: top level must be a JSON object")
    return data


def copy_tokenizer_files(src: str | Path | list[str | Path], dst: Path) -> list[str]:
    """Copies the tokenizer files of a directory (or the listed files) into `dst`; returns their
    names."""
    files = [Path(p) for p in src] if isinstance(src, (list, tuple)) else None
    if files is None:
        src = Path(src)
        if not src.is_dir():
            raise FileNotFoundError(f"{src}: tokenizer directory does not exist")
        files = [src / n for n in TOKENIZER_FILES if (src / n).is_file()]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"{f}: tokenizer file does not exist")
        shutil.copy2(f, dst / f.name)
    return [f.name for f in files]


def open_checkpoint(path_or_hub_id: str | Path) -> Checkpoint:
    """A source's config, lazily read tensors and tokenizer; nothing is converted yet."""
    path = resolve(path_or_hub_id)
    if path.is_file() and path.suffix == ".gguf":
        from zett.models.gguf_io import read_gguf  # written alongside; heavy (gguf) and optional

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
    registry.config_from_hf(
        hf
    )  # an unsupported architecture is the more useful error than its tensors
    mapping = weight_map(path)
    label = str(path / INDEX_FILE) if (path / INDEX_FILE).exists() else str(path / SINGLE_FILE)
    has_tok = any((path / n).is_file() for n in TOKENIZER_FILES)
    save_tok = (lambda out: copy_tokenizer_files(path, out)) if has_tok else None
    return Checkpoint(label, hf, LazyTensors(mapping), save_tok)


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
def _shards(tensors: dict[str, np.ndarray], max_bytes: int) -> list[dict[str, np.ndarray]]:
    shards: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for name, arr in tensors.items():
        if shards[-1] and size + arr.nbytes > max_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = arr
        size += arr.nbytes
    return shards


def write_safetensors(
    tensors: dict[str, np.ndarray],
    directory: Path,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    metadata: dict[str, str] | None = None,
) -> list[str]:
    """Writes `model.safetensors`, or numbered shards + index above `max_shard_bytes`; returns file
    names."""
    meta = {"format": "pt", **(metadata or {})}  # transformers refuses files without format "pt"
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    shards = _shards(tensors, max_shard_bytes)
    if len(shards) == 1:
        save_file(tensors, str(directory / SINGLE_FILE), metadata=meta)
        return [SINGLE_FILE]
    names = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    wmap: dict[str, str] = {}
    for file, shard in zip(names, shards):
        save_file(shard, str(directory / file), metadata=meta)
        wmap.update({k: file for k in shard})
    index = {
        "metadata": {"total_size": int(sum(v.nbytes for v in tensors.values()))},
        "weight_map": wmap,
    }
    (directory / INDEX_FILE).write_text(json.dumps(index, indent=2))
    return names + [INDEX_FILE]


def atomic_output_dir(out_dir: str | Path, overwrite: bool = False) -> tuple[Path, Path]:
    """(destination, fresh temp dir beside it); refuses an existing non-empty destination unless
    told."""
    out = Path(out_dir).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(
            f"{out} exists and is not empty; pass overwrite=True (--overwrite) to replace it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    return out, Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))


def commit_output_dir(tmp: Path, out: Path) -> None:
    """Moves the finished temp dir into place; an old destination is removed only after that
    succeeds."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old) if old.is_dir() else old.unlink()


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
    out, tmp = atomic_output_dir(out_dir, overwrite)
    try:
        hf = registry.hf_config_from(model.config)
        (tmp / CONFIG_FILE).write_text(json.dumps(hf, indent=2, sort_keys=True) + "\n")
        tensors = export_weights(model, registry.rules_for(model.config))
        meta = (
            {"zett_provenance": json.dumps(provenance, sort_keys=True, default=str)}
            if provenance
            else None
        )
        write_safetensors(tensors, tmp, max_shard_bytes, meta)
        if callable(tokenizer):
            tokenizer(tmp)
        elif tokenizer is not None:
            copy_tokenizer_files(tokenizer, tmp)
        if provenance:
            (tmp / PROVENANCE_FILE).write_text(
                json.dumps(provenance, indent=2, sort_keys=True, default=str) + "\n"
            )
        commit_output_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
