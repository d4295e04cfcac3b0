"""Fixtures: a byte-level BPE trained on real text (stdlib sources) and a tiny transformers Llama."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: local helpers
from extend_helpers import make_tiny_llama, train_bpe  # noqa: E402
from tokenizers import Tokenizer


@pytest.fixture(scope="session")
def bpe_tokenizer() -> Tokenizer:
    return train_bpe()


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, bpe_tokenizer) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("llama") / "model", bpe_tokenizer)
