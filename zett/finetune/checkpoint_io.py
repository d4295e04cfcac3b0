"""Checkpoint I/O of a fine-tuning run: the model and its tokenizer in, an HF directory out.

The one module of `zett.finetune` that imports zett's checkpoint readers and writers (they are
moving to their own package; only these imports follow them)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zett.models import LanguageModel, build_model
from zett.models.decoder import tiny_config
from zett.models.hf_io import (
    PROVENANCE_FILE,
    model_from_checkpoint,
    open_checkpoint,
    resolve,
    save_pretrained,
)
from zett.tokenization import CanonicalVocab, LoadedTokenizer, canonicalize, load_tokenizer
from zett.transfer import ship_tokenizer  # writes any tokenizer form as HF files

TINY = "tiny"  # a random tiny decoder over the tokenizer's vocabulary (tests, pulse runs)


@dataclass
class LoadedModel:
    """A model, its tokenizer, and how to write that tokenizer next to an exported checkpoint."""

    model: LanguageModel
    tokenizer: LoadedTokenizer
    vocab: CanonicalVocab
    label: str  # the path errors name
    write_tokenizer: Callable[[Path], Any]
    provenance: dict[str, Any]  # what the source checkpoint recorded (zett transfer / extend)


def load_model(
    spec: str, tokenizer: str | None = None, seed: int = 0, dtype: str = "float32"
) -> LoadedModel:
    """`spec`: an HF directory, GGUF file, packaged alias or hub id (or "tiny"); `tokenizer`
    overrides the one the checkpoint ships (needed when it ships none). `dtype`: the compute
    dtype; parameters stay float32."""
    if spec == TINY:
        if tokenizer is None:
            raise ValueError("model: tiny needs tokenizer (it defines the vocabulary)")
        tok = load_tokenizer(resolve(tokenizer))
        size = tok.tokenizer.get_vocab_size(with_added_tokens=True)
        cfg = tiny_config(vocab_size=size, max_position_embeddings=512, dtype=dtype)
        model = build_model(cfg, seed=seed)
        return _loaded(model, tok, TINY, tokenizer, {})
    ckpt = open_checkpoint(spec)
    model = model_from_checkpoint(ckpt, dtype=dtype, param_dtype="float32")
    path = resolve(spec)
    provenance: dict[str, Any] = {}
    if path.is_dir() and (path / PROVENANCE_FILE).is_file():
        provenance = json.loads((path / PROVENANCE_FILE).read_text())
    if tokenizer is not None:
        return _loaded(model, load_tokenizer(resolve(tokenizer)), ckpt.label, tokenizer, provenance)
    if ckpt.save_tokenizer is None:
        raise ValueError(
            f"{ckpt.label}: the checkpoint ships no tokenizer; name one with tokenizer=PATH"
        )
    tok = load_tokenizer(path)
    return LoadedModel(model, tok, canonicalize(tok), ckpt.label, ckpt.save_tokenizer, provenance)


def _loaded(model, tok: LoadedTokenizer, label: str, spec: str, provenance) -> LoadedModel:
    vocab = canonicalize(tok)
    path = str(resolve(spec))
    return LoadedModel(
        model, tok, vocab, label, lambda out: ship_tokenizer(path, tok, vocab, out), provenance
    )


def export_model(
    loaded: LoadedModel, out: str | Path, provenance: dict[str, Any], overwrite: bool = True
) -> Path:
    """Writes the trained model as an HF directory (temp dir, then renamed into place): its config
    (tied or untied head as trained), safetensors, the tokenizer files and `zett_provenance.json`
    (the source's provenance under "source")."""
    record = {
        **provenance,
        "source": loaded.provenance or None,
        "zett_version": __import__("zett").__version__,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    return save_pretrained(loaded.model, out, loaded.write_tokenizer, record, overwrite=overwrite)
