"""Tokenizer transfer of a checkpoint: new embedding tables (heuristic or hypernet), every other tensor
streamed through."""

from __future__ import annotations

import dataclasses
import datetime
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zett.checkpoint import (
    CONFIG_FILE,
    DEFAULT_MAX_SHARD_BYTES,
    DTYPES,
    PROVENANCE_FILE,
    CheckpointError,
    TensorSource,
    atomic_dir,
    check_output_dir,
    copy_tokenizer_files,
    gguf_sources,
    read_gguf,
    read_hf_config,
    replace_rows,
    resolve,
    safetensors_sources,
    vocab_role,
    write_sharded,
)
from zett.heuristics import SourceEmbeddings
from zett.methods import MethodInputs, MethodSpec, Target, parse_method
from zett.tokenization import (
    CanonicalVocab,
    LoadedTokenizer,
    TokenizerError,
    canonicalize,
    load_tokenizer,
    read_gguf_tokenizer,
)

_ROLES_IN_CONFIG = ("bos", "eos", "pad", "unk", "sep", "cls", "mask")
_DTYPE_NAMES = {
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": DTYPES["BF16"],
    "float64": np.float64,
}


def _options_record(spec: MethodSpec) -> dict[str, Any]:
    """{"method_options": ...} for options that differ from this command's defaults, else {} (so
    the record of a default run is what it was before options existed)."""
    defaults = {f.name: f.default for f in dataclasses.fields(spec.options)}
    changed = {
        k: v
        for k, v in vars(spec.options).items()
        if k != spec.method.argument and v != defaults[k]
    }
    return {"method_options": changed} if changed else {}


@dataclass(frozen=True)
class TransferConfig:
    """What to transfer where: model (HF dir / hub id / GGUF), target tokenizer, and the method.

    method: a `zett.methods` spec ("fvt", "hypernet:DIR", "focus,epochs=5") or a parsed
    MethodSpec; hypernet: shorthand for method="hypernet:DIR"; method_options: more options (the
    CLI's `--method-opt key=value`). Parsed (and validated) here, before any work."""

    model: str
    tokenizer: str
    out: str
    method: str | MethodSpec | None = None
    hypernet: str | None = None
    dtype: str | None = None  # None: the source embedding dtype (float32 for GGUF)
    seed: int = 0
    texts: str | None = None  # methods that need target-language text (focus): a UTF-8 file
    donor: str | None = None  # methods that need a donor model: its path or alias
    overwrite: bool = False
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES
    progress: bool = True
    method_options: tuple[tuple[str, str], ...] = ()
    # the target text's language, for a hypernet trained with language embeddings (`--lang`)
    lang: str | None = None
    spec: MethodSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.method is None) == (self.hypernet is None):
            raise ValueError("give exactly one of a hypernet (--hypernet) or a method (--method)")
        if self.max_shard_bytes <= 0:
            raise ValueError(
                f"max_shard_bytes (--max-shard-size) must be positive, got {self.max_shard_bytes}"
            )
        if self.dtype is not None and self.dtype not in _DTYPE_NAMES:
            raise ValueError(f"dtype {self.dtype!r} is not one of {sorted(_DTYPE_NAMES)}")
        given = self.method if self.method is not None else f"hypernet:{self.hypernet}"
        spec = parse_method(given, dict(self.method_options))
        if self.lang is not None:
            if spec.name != "hypernet":
                raise ValueError(
                    f"--lang conditions a hypernet trained with language embeddings; method "
                    f"{spec.name!r} takes no language"
                )
            spec = parse_method(spec, {"lang": self.lang})
        if spec.name == "hypernet":  # a language-conditioned hypernet without --lang: fail now
            spec.options.language()
        object.__setattr__(self, "spec", spec)


@dataclass
class SourceModel:
    """The source checkpoint seen without loading it: config, tensor plan, tokenizer, label for
    errors."""

    path: Path
    label: str
    hf_config: dict[str, Any]
    tensors: list[TensorSource]
    tokenizer: LoadedTokenizer
    is_gguf: bool


def open_source(model: str, dtype: np.dtype | None) -> SourceModel:
    try:
        path = resolve(model)
    except FileNotFoundError as e:
        raise CheckpointError(f"model {model}: {e}") from None
    if path.is_file() and path.suffix == ".gguf":
        # one parse gives the config, the tokenizer and the tensors (dequantised when written)
        g = read_gguf(path, tensors=False)
        tensors = gguf_sources(g, np.dtype(dtype or np.float32))
        return SourceModel(path, str(path), dict(g.hf_config), tensors, g.loaded_tokenizer(), True)
    if path.is_file():
        raise CheckpointError(
            f"{path}: expected a model directory (config.json + safetensors) or a .gguf file"
        )
    hf = read_hf_config(path)
    tensors = safetensors_sources(path, np.dtype(dtype) if dtype is not None else None)
    try:
        tok = load_tokenizer(path)
    except (TokenizerError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: the source tokenizer cannot be loaded ({e})") from None
    return SourceModel(path, str(path), hf, tensors, tok, False)


def _text_config(hf: dict[str, Any]) -> dict[str, Any]:
    tc = hf.get("text_config")
    return tc if isinstance(tc, dict) and "vocab_size" in tc else hf


def _find(tensors: list[TensorSource], role: str) -> list[TensorSource]:
    return [t for t in tensors if vocab_role(t.name, len(t.shape)) == role]


def load_target(tokenizer: str) -> tuple[LoadedTokenizer, CanonicalVocab]:
    try:
        loaded = load_tokenizer(tokenizer)
        vocab = canonicalize(loaded)
    except (
        Exception
    ) as e:  # any parse failure of the user's file means one thing: not usable as the target
        raise ValueError(
            f"target tokenizer {tokenizer}: cannot be loaded ({type(e).__name__}: {e})"
        ) from None
    if vocab.size == len(vocab.specials):  # a model with no rows to predict is no model
        raise ValueError(
            f"target tokenizer {tokenizer}: its vocabulary is empty"
            + (f" (only {len(vocab.specials)} special tokens)" if vocab.specials else "")
        )
    return loaded, vocab


def method_inputs(cfg: TransferConfig) -> MethodInputs:
    """The inputs the configured method needs, checked before the model is read."""
    texts = None
    if cfg.texts is not None and "texts" in cfg.spec.needs:
        texts = Path(cfg.texts).read_text(encoding="utf-8").splitlines()
    inputs = MethodInputs(texts=texts, donor=cfg.donor, seed=cfg.seed, progress=cfg.progress)
    cfg.spec.check(inputs)
    return inputs


def update_config(
    hf: dict[str, Any], vocab_size: int, target: CanonicalVocab, dtype_name: str | None
) -> dict[str, Any]:
    """config.json with the new vocabulary size and the target tokenizer's special ids (absent roles →
    null)."""
    out = json.loads(json.dumps(hf))
    tc = _text_config(out)
    tc["vocab_size"] = int(vocab_size)
    for role in _ROLES_IN_CONFIG:
        key = f"{role}_token_id"
        sp = target.special(role)
        if role in ("bos", "eos", "pad") or key in tc:
            tc[key] = sp.id if sp is not None else None
    if dtype_name is not None:
        for key in ("torch_dtype", "dtype"):
            if key in out:
                out[key] = dtype_name
    return out


def ship_tokenizer(
    spec: str, loaded: LoadedTokenizer, target: CanonicalVocab, out: Path
) -> list[str]:
    """The target tokenizer's own files into `out` (unchanged), plus tokenizer.json /
    tokenizer_config.json only where the given form lacks them (a SentencePiece .model, a GGUF, a
    hub id)."""
    path = Path(spec).expanduser()
    files: list[str] = []
    if path.is_dir():
        files = copy_tokenizer_files(path, out)
    elif path.is_file() and path.suffix == ".gguf":
        files = [p.name for p in read_gguf_tokenizer(path).save(out)]  # any architecture
    elif path.is_file():
        name = {".json": "tokenizer.json", ".model": "tokenizer.model", ".txt": "vocab.txt"}.get(
            path.suffix, path.name
        )
        shutil.copyfile(path, out / name)  # mode from the umask
        files = [name]
    if not (out / "tokenizer.json").exists():
        loaded.tokenizer.save(str(out / "tokenizer.json"))
        files.append("tokenizer.json")
    if not (out / "tokenizer_config.json").exists():
        # a bare tokenizer.json has no class or roles; the generic fast tokenizer reads it as is
        tc: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast"}
        for role in ("bos", "eos", "unk", "pad", "mask", "cls", "sep"):
            sp = target.special(role)
            if sp is not None:
                tc[f"{role}_token"] = sp.token
        (out / "tokenizer_config.json").write_text(json.dumps(tc, indent=2) + "\n")
        files.append("tokenizer_config.json")
    return sorted(set(files))


def _log(cfg: TransferConfig, msg: str) -> None:
    if cfg.progress:
        print(f"zett transfer: {msg}", file=sys.stderr, flush=True)


def transfer(cfg: TransferConfig) -> Path:
    """Runs the transfer; returns the output directory. Memory: the old and new embedding tables
    (+ hypernet) and one other tensor at a time."""
    out = check_output_dir(cfg.out, cfg.overwrite)
    method_in = method_inputs(cfg)
    out_dtype = np.dtype(_DTYPE_NAMES[cfg.dtype]) if cfg.dtype else None
    loaded_target, target = load_target(cfg.tokenizer)
    src = open_source(cfg.model, out_dtype)
    _log(
        cfg,
        f"source {src.label}: {len(src.tensors)} tensors; target {cfg.tokenizer}: {target.size} "
        f"tokens",
    )

    inputs, outputs, biases = (_find(src.tensors, role) for role in ("input", "output", "bias"))
    if len(inputs) != 1:
        raise CheckpointError(
            f"{src.label}: expected one input embedding tensor, found {[t.name for t in inputs]}"
        )
    emb = inputs[0]
    vocab_rows = int(_text_config(src.hf_config).get("vocab_size", emb.shape[0]))
    if emb.shape[0] != vocab_rows:
        raise CheckpointError(
            f"{src.label}: tensor {emb.name!r} has {emb.shape[0]} rows but config.json says "
            f"vocab_size={vocab_rows}"
        )
    tied = bool(src.hf_config.get("tie_word_embeddings", True))
    for t in outputs + biases:
        if t.shape[0] != emb.shape[0]:
            raise CheckpointError(
                f"{src.label}: tensor {t.name!r} has {t.shape[0]} rows, {emb.name!r} has "
                f"{emb.shape[0]}"
            )
    source_vocab = canonicalize(src.tokenizer)
    e_in = emb.load().astype(np.float32, copy=False)
    e_out = outputs[0].load().astype(np.float32, copy=False) if outputs and not tied else None
    bias = biases[0].load().astype(np.float32, copy=False) if biases else None
    source = SourceEmbeddings(source_vocab, e_in, e_out, bias, tokenizer=src.tokenizer)
    _log(cfg, f"computing {target.size} rows with {cfg.spec}")
    new = cfg.spec.run(source, Target(loaded_target, target), method_in)
    del source, e_in, e_out, bias  # the write phase needs only the new tables

    n_new = new.input_embeddings.shape[0]
    tables: dict[str, np.ndarray] = {emb.name: new.input_embeddings}
    for t in outputs:
        tables[t.name] = new.output_embeddings if not tied else new.input_embeddings
    for t in biases:
        if new.output_bias is None:
            raise ValueError(f"{cfg.spec} produced no output bias for {t.name!r}")
        tables[t.name] = new.output_bias
    tensors = replace_rows(src.tensors, tables, n_new)  # cast to each tensor's dtype here
    replaced = sorted(tables)
    # only `tensors` holds the (cast) tables now
    del tables, new.input_embeddings, new.output_embeddings, new.output_bias

    with atomic_dir(out, cfg.overwrite) as tmp:
        write_sharded(tmp, tensors, cfg.max_shard_bytes, progress=cfg.progress)
        del tensors  # written; loading a large target tokenizer again below needs the room
        written_dtype = cfg.dtype or ("float32" if src.is_gguf else None)
        hf = update_config(src.hf_config, n_new, target, written_dtype)
        (tmp / CONFIG_FILE).write_text(json.dumps(hf, indent=2, sort_keys=True) + "\n")
        tok_files = ship_tokenizer(cfg.tokenizer, loaded_target, target, tmp)
        provenance = {
            "base_model": str(cfg.model),
            "method": cfg.spec.name,
            "hypernet": cfg.spec.options.path if cfg.spec.name == "hypernet" else None,
            "target_tokenizer": str(cfg.tokenizer),
            "tokenizer_files": tok_files,
            "seed": cfg.seed,
            "dtype": cfg.dtype,
            "zett_version": __import__("zett").__version__,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "source_vocab_size": int(emb.shape[0]),
            "target_vocab_size": int(n_new),
            "n_copied": int(new.info.get("n_copied", 0)),
            "n_initialised": int(
                new.info.get("n_initialised", n_new - new.info.get("n_copied", 0))
            ),
            "n_truncated": int(new.info.get("n_truncated", 0)),
            "replaced_tensors": replaced,
        }
        if "identity_reconstruction" in new.info:
            provenance["identity_reconstruction"] = new.info["identity_reconstruction"]
        provenance.update(_options_record(cfg.spec))
        (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    _log(
        cfg,
        f"wrote {out} ({provenance['n_copied']} rows copied, {provenance['n_initialised']} "
        f"initialised)",
    )
    rec = provenance.get("identity_reconstruction", {}).get("input")
    if rec and rec.get("n"):
        _log(
            cfg,
            f"identity reconstruction of the {rec['n']} shared tokens (before copying): cosine "
            f"{rec['cosine_mean']:.3f}, relative error {rec['rel_error_mean']:.3f}",
        )
    return out


__all__ = ["TransferConfig", "transfer", "update_config", "ship_tokenizer"]
