"""Fixtures of the fine-tuning tests: a small Unigram tokenizer trained on the Bible fixture, and tiny
random decoders saved as HF checkpoints over it (tied and untied heads)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: local helpers
from ft_helpers import save_tiny  # noqa: E402


@pytest.fixture(scope="module")
def texts(corpus):
    return [json.loads(line)["text"] for line in corpus.read_text().splitlines()]


@pytest.fixture(scope="module")
def unigram(tmp_path_factory, texts):
    """tokenizer.json of a 400-token Unigram with <unk>, <s>, </s> (ids 0, 1, 2)."""
    from zett.bench.tokenizers import train_unigram

    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    train_unigram(texts, 400).save(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_tied(tmp_path_factory, unigram):
    return save_tiny(tmp_path_factory.mktemp("m") / "tied", unigram, tied=True)


@pytest.fixture(scope="module")
def tiny_untied(tmp_path_factory, unigram):
    return save_tiny(tmp_path_factory.mktemp("m") / "untied", unigram, tied=False, seed=1)
