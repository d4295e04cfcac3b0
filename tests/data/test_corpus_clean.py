"""Normalisation, chunking and hashing of corpus text."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from zett.data.clean import (
    chunk_passages,
    code_blocks,
    content_hash,
    normalize_code,
    normalize_text,
    unit_hash,
)


def test_normalize_text_nfc_whitespace_and_invisibles():
    decomposed = "Gru\u0308\u00dfe\u00ad  aus\n\tKo\u0308ln\u200b "
    out = normalize_text(decomposed)
    assert out == "Grüße aus Köln"
    assert unicodedata.is_normalized("NFC", out)


def test_normalize_text_drops_spaces_between_cjk_only_when_unspaced():
    assert (
        normalize_text("起初， 神创造天地。 地是空虚混沌", spaced=False)
        == "起初，神创造天地。地是空虚混沌"
    )
    assert (
        normalize_text("Hello 世界 again", spaced=False) == "Hello 世界 again"
    )  # Latin neighbours keep the space
    assert normalize_text("起初， 神", spaced=True) == "起初， 神"


def test_code_keeps_indentation_and_splits_on_blank_lines():
    src = "def f(x):\r\n    return x  \r\n\r\n\r\nclass A:\n\tpass\n"
    assert normalize_code(src) == "def f(x):\n    return x\n\n\nclass A:\n\tpass"
    assert code_blocks(src) == ["def f(x):\n    return x", "class A:\n\tpass"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abc .!", min_size=1, max_size=700), min_size=1, max_size=30))
def test_chunk_passages_respects_bounds(segments):
    passages = chunk_passages(segments, " ", target_chars=300, max_chars=500, min_chars=100)
    assert all(100 <= len(p) <= 500 for p in passages)


def test_chunk_passages_keeps_running_text_in_order():
    verses = [f"Verse {i} says something of moderate length here." for i in range(100)]
    passages = chunk_passages(verses, " ", target_chars=400, max_chars=800, min_chars=100)
    assert " ".join(passages) == " ".join(verses)  # nothing lost, nothing reordered
    assert all(400 <= len(p) <= 800 for p in passages[:-1])


def test_chunk_passages_cuts_long_segments_at_sentences():
    long = " ".join(f"Sentence number {i} ends here." for i in range(200))
    passages = chunk_passages([long], " ", target_chars=500, max_chars=600, min_chars=50)
    assert all(len(p) <= 600 for p in passages)
    assert all(p.endswith(".") for p in passages)


def test_hashes_are_stable_and_seeded():
    assert content_hash("abc") == content_hash("abc") != content_hash("abd")
    assert unit_hash(0, "bible/1/1") == unit_hash(0, "bible/1/1") != unit_hash(1, "bible/1/1")
    assert 0.0 <= unit_hash(3, "x") < 1.0
