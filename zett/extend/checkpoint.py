"""Streaming extension of an HF safetensors checkpoint's vocabulary tables along an `IdMapping`."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from zett.extend.init import InitSpec, init_rows
from zett.extend.layout import IdMapping
from zett.extend.safetensors_stream import read_header, rewrite

INDEX_NAME = "model.safetensors.index.json"

# names of vocabulary-indexed tensors across the supported families (llama/mistral/qwen/gemma,
# bert/roberta/xlm-r, gpt-2 style); "input" rows are embeddings, "output" rows the LM head
_INPUT = re.compile(r"(^|\.)(embed_tokens|word_embeddings|wte)\.weight$")
_OUTPUT = re.compile(r"(^|\.)(lm_head|embed_out|output|cls\.predictions\.decoder|decoder)\.weight$")
_BIAS = re.compile(
    r"(^|\.)(cls\.predictions\.bias|cls\.predictions\.decoder\.bias|lm_head\.bias|decoder\.bias)$"
)


class CheckpointExtensionError(ValueError):
    """The checkpoint cannot be extended as asked (missing files, tensors of the wrong size)."""


def shard_files(ckpt_dir: Path) -> dict[str, list[str]]:
    """{shard file name: [tensor names]} from the index, or from the single model.safetensors."""
    index = ckpt_dir / INDEX_NAME
    if index.is_file():
        weight_map = json.loads(index.read_text())["weight_map"]
        shards: dict[str, list[str]] = {}
        for name, shard in weight_map.items():
            shards.setdefault(shard, []).append(name)
        return shards
    files = sorted(p.name for p in ckpt_dir.glob("*.safetensors"))
    if not files:
        raise CheckpointExtensionError(f"{ckpt_dir}: no *.safetensors files")
    if len(files) > 1:
        raise CheckpointExtensionError(f"{ckpt_dir}: several safetensors files but no {INDEX_NAME}")
    header, _ = read_header(ckpt_dir / files[0])
    return {files[0]: [k for k in header if k != "__metadata__"]}


def vocab_tensors(
    names: list[str], shapes: Mapping[str, tuple[int, ...]], rows: int
) -> dict[str, str]:
    """{tensor name: "input" | "output" | "bias"} for tensors whose first axis is the vocabulary."""
    found = {}
    for n in names:
        shape = shapes[n]
        if not shape or shape[0] != rows:
            continue
        if len(shape) == 2 and _INPUT.search(n):
            found[n] = "input"
        elif len(shape) == 2 and _OUTPUT.search(n):
            found[n] = "output"
        elif len(shape) == 1 and _BIAS.search(n):
            found[n] = "bias"
    return found


def tensor_shapes(ckpt_dir: Path) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for shard, names in shard_files(ckpt_dir).items():
        header, _ = read_header(ckpt_dir / shard)
        for n in names:
            if n not in header:
                raise CheckpointExtensionError(
                    f"{ckpt_dir / shard}: tensor {n!r} listed in the index is missing"
                )
            shapes[n] = tuple(header[n]["shape"])
    return shapes


def new_row_ids(mapping: IdMapping) -> np.ndarray:
    """The new ids no old id maps to (sorted): the rows an initialiser fills."""
    taken = np.zeros(mapping.new_size, bool)
    taken[mapping.old_to_new] = True
    return np.flatnonzero(~taken)


def extend_table(
    old: np.ndarray, mapping: IdMapping, spec: InitSpec, kind: str = "input"
) -> np.ndarray:
    """[old_vocab, ...] → [new_vocab, ...]: old rows copied bit-identically to `mapping(old id)`, new
    rows from `spec` (bias vectors: new entries get the mean of the old ones)."""
    if old.shape[0] != mapping.old_size:
        raise CheckpointExtensionError(
            f"table has {old.shape[0]} rows but the mapping expects {mapping.old_size}"
        )
    new_ids = new_row_ids(mapping)
    out = np.empty((mapping.new_size,) + old.shape[1:], old.dtype)
    out[mapping.old_to_new] = old
    if old.ndim == 1:
        out[new_ids] = old.astype(np.float64).mean().astype(old.dtype)
    else:
        out[new_ids] = init_rows(old, len(new_ids), spec, kind)
    return out


def _write_atomic_dir(out_dir: Path, fill: Callable[[Path], None], overwrite: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise CheckpointExtensionError(
            f"{out_dir} exists and is not empty (pass overwrite=True / --overwrite)"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        fill(tmp)
        if out_dir.exists():
            trash = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            out_dir.replace(trash / "d")
            tmp.replace(out_dir)
            shutil.rmtree(trash)
        else:
            tmp.replace(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def extend_checkpoint(
    src_dir: str | Path,
    out_dir: str | Path,
    mapping: IdMapping,
    spec: InitSpec,
    config: dict,
    tensors: Mapping[str, str] | None = None,
    extra_files: Mapping[str, bytes | str] | None = None,
    copy_files: tuple[str, ...] = ("generation_config.json",),
    overwrite: bool = False,
    tied: bool | None = None,
) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Writes `src_dir`'s checkpoint to `out_dir` with vocabulary tables grown along `mapping`.

    Only one vocabulary tensor (old and new) is in memory at a time; every other tensor is
    byte-copied through in chunks (`safetensors_stream.rewrite`); shard names and the index are
    kept; `config` (already updated) is written as config.json, `extra_files` (e.g. tokenizer files)
    next to it. `tensors` overrides auto-detection: {name: "input"|"output"|"bias"}. Returns
    {tensor: (old shape, new shape)}."""
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    shards = shard_files(src_dir)
    shapes = tensor_shapes(src_dir)
    if tensors is None:
        tensors = vocab_tensors(list(shapes), shapes, mapping.old_size)
        if not any(k == "input" for k in tensors.values()):
            raise CheckpointExtensionError(
                f"{src_dir}: no input embedding with {mapping.old_size} rows among "
                f"{[n for n in shapes if 'emb' in n] or list(shapes)[:5]}; pass the tensor names "
                f"explicitly"
            )
    for n in tensors:
        if n not in shapes:
            raise CheckpointExtensionError(f"{src_dir}: tensor {n!r} not in the checkpoint")
        if shapes[n][0] != mapping.old_size:
            raise CheckpointExtensionError(
                f"{src_dir}: tensor {n!r} has {shapes[n][0]} rows but the vocabulary has "
                f"{mapping.old_size} ids "
                "(tokenizer/config and checkpoint disagree)"
            )
    if tied is None:
        tied = bool(
            config.get(
                "tie_word_embeddings",
                (config.get("text_config") or {}).get("tie_word_embeddings", False),
            )
        )
    changed: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def fill(tmp: Path) -> None:
        total = 0
        for shard, names in shards.items():
            transforms, new_shapes = {}, {}
            for n in names:
                kind = tensors.get(n)
                if kind is None:
                    continue
                # a tied head must stay equal to the embedding, so it shares the input's seed
                seed = spec.seed + (1 if kind == "output" and not tied else 0)
                transforms[n] = partial(
                    extend_table,
                    mapping=mapping,
                    spec=replace(spec, seed=seed),
                    kind="output" if kind == "output" and not tied else "input",
                )
                new_shapes[n] = (mapping.new_size,) + shapes[n][1:]
                changed[n] = (shapes[n], new_shapes[n])
            total += rewrite(src_dir / shard, tmp / shard, transforms, new_shapes)
        if (src_dir / INDEX_NAME).is_file():
            index = json.loads((src_dir / INDEX_NAME).read_text())
            index.setdefault("metadata", {})["total_size"] = total
            (tmp / INDEX_NAME).write_text(json.dumps(index, indent=2))
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        for name in copy_files:
            if (src_dir / name).is_file():
                shutil.copy2(src_dir / name, tmp / name)
        for name, content in (extra_files or {}).items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(tmp / name, mode) as fh:
                fh.write(content)

    _write_atomic_dir(out_dir, fill, overwrite)
    return changed
