"""Validation during training: held-out bits per byte of the frozen base model under fixed target
tokenizers, with the embeddings the hypernetwork predicts for them.

Across hosts every process runs the same validation on whole (replicated) copies of the hypernet and
the base model, so each reads every value it needs and all of them log the same numbers; the copies
live only while validation runs (a whole base model per device: mind the device memory of 7B-scale
runs, or validate the exported hypernet instead)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax

from zett.eval import evaluate_bpb
from zett.hypernet.model import Hypernet
from zett.hypernet.predict import predict_embeddings
from zett.hypernet.train_config import TrainConfig
from zett.parallel import replicated_copy
from zett.sampling import CorpusTexts
from zett.tokenization import Decomposer, canonicalize, load_tokenizer


def validate(
    cfg: TrainConfig, hypernet: Hypernet, base: Any, tok: Any, progress: bool = False
) -> dict[str, float]:
    """`{"val/<tokenizer>/bits_per_byte": …}` for each of `cfg.validation_tokenizers`, on the first
    `cfg.data.validation_texts` texts of `cfg.data.validation` (default: the held-out split of
    `cfg.data.train`). In a multi-host run every process calls it (see the module docstring)."""
    if jax.process_count() > 1:
        hypernet, base = replicated_copy(hypernet), replicated_copy(base)
    texts = CorpusTexts.load(
        cfg.data.validation or cfg.data.train,
        "heldout" if cfg.data.validation is None else "train",
        cfg.data.langs,
    )
    sample = [texts[i][0] for i in range(min(cfg.data.validation_texts, len(texts)))]
    decomposer = Decomposer(tok, maxlen=hypernet.cfg.surface_maxlen)
    src = decomposer.canonical
    prefix = src.special("bos") or src.special("eos")
    out: dict[str, float] = {}
    for path in cfg.validation_tokenizers:
        target = load_tokenizer(path)
        vocab = canonicalize(target)
        pred = predict_embeddings(hypernet, decomposer, vocab, progress=progress)
        res = evaluate_bpb(
            base,
            target.tokenizer,
            sample,
            prefix_row=prefix.id if prefix else 0,
            input_embeddings=pred.input_embeddings,
            output_embeddings=pred.output_embeddings,
            output_bias=pred.output_bias,
            special_ids=vocab.special_ids,
            progress=progress,
        )
        out[f"val/{Path(path).name}/bits_per_byte"] = res.bits_per_byte
    return out
