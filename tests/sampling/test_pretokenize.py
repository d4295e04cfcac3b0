"""One pre-tokenization for counting and tokenizing: the same split, and Indic words kept whole."""

from __future__ import annotations

import pytest
from tokenizers import Regex, pre_tokenizers

from zett.sampling import pre_tokenize
from zett.sampling.pretokenize import PREFIX, normalizer, pre_tokenizer
from zett.tokenization import from_canonical, text_to_canonical

REFERENCE_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def _counting_words(text: str) -> list[str]:
    pre = pre_tokenize([text])
    return [pre.words[j] for j in pre.text_words[0]]


def _tokenizer_words(text: str) -> list[str]:
    normalized = normalizer().normalize_str(text)
    return [w for w, _ in pre_tokenizer().pre_tokenize_str(normalized)]


def test_counting_and_tokenizer_split_alike(script_texts):
    for name, text in script_texts.items():
        assert _counting_words(text) == _tokenizer_words(text), name
        # lossless: the pre-tokens spell the text (with its prefix space)
        assert from_canonical("".join(_counting_words(text))) == (PREFIX + text).encode("utf-8"), (
            name
        )


def test_indic_words_keep_their_marks(script_texts):
    hindi = "उसके भाई का नाम यूबाल था"
    words = _counting_words(hindi)
    assert words == [text_to_canonical(" " + w) for w in hindi.split(" ")]
    # GPT-2's letters-only class (the reference counting regex) cuts at every vowel sign / virama
    gpt2 = pre_tokenizers.Split(Regex(REFERENCE_REGEX), behavior="isolated")
    assert len(gpt2.pre_tokenize_str(" " + hindi)) > len(words)
    for lang in ("hi", "bn"):
        text = script_texts[lang]
        ours = _counting_words(text)
        assert len(gpt2.pre_tokenize_str(PREFIX + text)) > len(ours), lang
        assert ours == _tokenizer_words(text), lang


def test_counts_and_order():
    pre = pre_tokenize(["the cat and the hat", "the end"])
    words = [from_canonical(w).decode() for w in pre.words]
    assert dict(zip(words, pre.counts.tolist()))[" the"] == 3
    assert [words[j] for j in pre.text_words[1]] == [" the", " end"]


def _sweep(stride: int, offset: int = 0) -> None:
    """Python twin vs Oniguruma on (a slice of) every code point, each between characters of every
    class."""
    from tokenizers import Regex

    from zett.sampling.char_classes import all_code_points
    from zett.sampling.pretokenize import PY_SPLIT, SPLIT_PATTERN

    onig = pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated")
    cps = all_code_points()[offset::stride]
    for sep in (".", "a", "1", " ", "\u0301", "'"):
        text = "".join(chr(c) + sep for c in cps)
        assert PY_SPLIT.findall(text) == [w for w, _ in onig.pre_tokenize_str(text)], repr(sep)


def test_python_twin_splits_like_oniguruma_sampled():
    _sweep(stride=61, offset=7)


def test_python_twin_splits_like_oniguruma_on_newer_characters():
    # U+088F (Arabic, Unicode 16) and U+11DE0.. are where `regex`'s \p{L} and Oniguruma's disagree
    text = " a\u088fb \u0890 1\U00011de01 x\u0897y"
    from tokenizers import Regex

    from zett.sampling.pretokenize import PY_SPLIT, SPLIT_PATTERN

    onig = pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated")
    assert PY_SPLIT.findall(text) == [w for w, _ in onig.pre_tokenize_str(text)]


@pytest.mark.slow
def test_python_twin_splits_like_oniguruma_everywhere():
    from zett import sampling
    from zett.sampling import _onig_classes
    from zett.sampling.char_classes import PROBES, probe

    for name, pattern in PROBES.items():
        assert tuple(probe(pattern)) == getattr(_onig_classes, name.upper()), (
            f"regenerate: {sampling.char_classes.__doc__}"
        )
    _sweep(stride=1)
