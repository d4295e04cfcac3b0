"""The synthetic arithmetic probe: reproducible, correct, varied."""

import re

import pytest

from zett import assets
from zett.eval.arithmetic import arithmetic_texts

LINE = re.compile(r"(\d+)( ?)([+*-])\2(\d+)\2=\2(-?\d+)")


def test_equations_are_correct_and_varied():
    texts = arithmetic_texts(50, seed=3, lines=12, max_digits=5)
    assert len(texts) == 50
    lines = [line for t in texts for line in t.split("\n")]
    assert len(lines) == 600
    spaced, ops, lengths = set(), set(), set()
    for line in lines:
        m = LINE.fullmatch(line)
        assert m, line
        a, sep, op, b, c = m.groups()
        want = {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op]
        assert int(c) == want, line
        spaced.add(sep)
        ops.add(op)
        lengths.update((len(a), len(b)))
    assert spaced == {"", " "} and ops == {"+", "-", "*"} and lengths == {1, 2, 3, 4, 5}


def test_seeded():
    assert arithmetic_texts(5, seed=1) == arithmetic_texts(5, seed=1)
    assert arithmetic_texts(5, seed=1) != arithmetic_texts(5, seed=2)
    with pytest.raises(ValueError, match="max_digits"):
        arithmetic_texts(2, max_digits=0)


def _word_level(individual_digits: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers

    pieces = ["1", "2", "3", "4", "5", "7", "12", "345", "357", "+", "="]
    tok = Tokenizer(models.WordLevel({p: i for i, p in enumerate(pieces)}, unk_token="+"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=individual_digits), pre_tokenizers.Punctuation()]
    )
    return tok


def test_digit_split_counts_digits_per_token():
    from zett.eval.arithmetic import digit_split

    text = "12+345=357"  # 8 digits
    one = digit_split(_word_level(True), [text])
    assert (one["digits"], one["digit_tokens"], one["multi_digit_share"]) == (8, 8, 0.0)
    runs = digit_split(_word_level(False), [text])  # "12", "345", "357"
    assert (runs["digits"], runs["digit_tokens"]) == (8, 3)
    assert runs["digits_per_token"] == 8 / 3 and runs["multi_digit_share"] == 1.0
    none = digit_split(_word_level(True), ["+="])
    assert none == {
        "digits": 0,
        "digit_tokens": 0,
        "digits_per_token": None,
        "multi_digit_share": None,
    }


def test_digit_split_counts_every_digit_once_under_a_leading_metaspace():
    """A Unigram tokenizer's leading "▁" shares its offsets with the first digit: counted by
    decoded tokens, every digit of the text is counted exactly once."""
    from tokenizers import Tokenizer

    from zett.eval.arithmetic import arithmetic_records, digit_split
    from zett.tokenization import load_tokenizer

    texts = [r["text"] for r in arithmetic_records(4, "heldout")]
    in_text = sum(ch.isdigit() for t in texts for ch in t)
    unigram = Tokenizer.from_file("experiments/bench/results/tokenizers/unigram-de-16000.json")
    merged = digit_split(unigram, texts)
    assert merged["digits"] == in_text and merged["multi_digit_share"] > 0
    smollm2 = digit_split(load_tokenizer(assets.resolve("smollm2")).tokenizer, texts)
    assert smollm2["digits"] == in_text == smollm2["digit_tokens"]
