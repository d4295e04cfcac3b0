"""A small corpus built once from the real Bible database and the stdlib (seconds, no network)."""

from __future__ import annotations

import pytest

from zett.data import CorpusConfig, build_corpus

# 9 languages in 8 scripts with one Bible each (fast to read), plus Python code
LANGS = ("ar", "bn", "hi", "ja", "ko", "pt", "ru", "zh", "sw", "py")
SMALL = CorpusConfig(
    langs=LANGS,
    sources=("bible", "python-code"),
    max_chars_per_lang=40_000,
    heldout_fraction=0.1,
    seed=7,
)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    manifest = build_corpus(out, SMALL)
    return out, manifest


@pytest.fixture(scope="session")
def small_config():
    return SMALL
