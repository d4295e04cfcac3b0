"""Helpers of the fine-tuning tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from zett.config import load_config
from zett.finetune import FinetuneConfig

TINY_RUN = {
    "embeddings": {"steps": 4, "lr": 3e-2, "warmup_steps": 1},
    "full": {"steps": 4, "lr": 3e-3, "warmup_steps": 1},
    "data": {"block_size": 16, "batch_size": 4, "validation_texts": 4},
    "log_every": 1,
    "eval_every": 100,
    "save_every": 3,
    "keep_checkpoints": 10,
    "tensorboard": False,
}


def config(model, train, workdir, overrides: list[str] = (), **sections) -> FinetuneConfig:
    """TINY_RUN with `sections` merged in (one level deep) and `overrides` applied."""
    data = dict(TINY_RUN)
    for key, value in sections.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and key in data else value
    data["data"] = {**data["data"], "train": str(train)}
    return load_config(
        FinetuneConfig, {**data, "model": str(model), "workdir": str(workdir)}, list(overrides)
    )


def metrics(workdir) -> list[dict]:
    return [json.loads(line) for line in (Path(workdir) / "metrics.jsonl").read_text().splitlines()]


def weights(directory) -> dict[str, np.ndarray]:
    return load_file(str(Path(directory) / "model.safetensors"))


def save_tiny(path, tokenizer, tied: bool = True, seed: int = 0, **overrides):
    """A random tiny llama over `tokenizer`'s vocabulary as an HF directory."""
    from tokenizers import Tokenizer

    from zett.models import build_model, save_pretrained
    from zett.models.decoder import tiny_config

    size = Tokenizer.from_file(str(tokenizer)).get_vocab_size(with_added_tokens=True)
    cfg = tiny_config(
        vocab_size=size,
        hidden_size=32,
        intermediate_size=64,
        tie_word_embeddings=tied,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        **overrides,
    )
    return save_pretrained(build_model(cfg, seed=seed), path, tokenizer_files=[tokenizer])
