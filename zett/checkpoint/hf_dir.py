"""A Hugging Face model directory: its file names, where a model named by the user lives (path,
packaged alias or hub id), its config.json and its tokenizer files."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from zett.assets import resolve as resolve_alias
from zett.checkpoint.errors import CheckpointError

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


def resolve(path_or_hub_id: str | Path) -> Path:
    """A local path as is; a packaged-model alias (`smollm2`, `gemma3`, `minilm`) to its file; a hub
    id (`org/name`) downloaded with huggingface_hub when it is not a path."""
    path = Path(os.path.expanduser(resolve_alias(str(path_or_hub_id))))
    if path.exists():
        return path
    text = str(path_or_hub_id)
    if not _HUB_ID.fullmatch(text) or text.endswith((".gguf", ".safetensors", ".json")):
        raise FileNotFoundError(f"{text}: no such file or directory")
    # only a hub id needs the hub client
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
    """config.json of a model directory, as a dict."""
    file = directory / CONFIG_FILE
    if not file.exists():
        raise CheckpointError(f"{directory}: no {CONFIG_FILE}; not a Hugging Face model directory")
    return read_json_object(file)


def read_json_object(file: Path) -> dict[str, Any]:
    """A JSON file whose top level is an object (config.json, hypernet.json, ...); anything else
    raises `CheckpointError` naming the file."""
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
        shutil.copyfile(f, dst / f.name)  # mode from the umask, not the source
    return [f.name for f in files]
