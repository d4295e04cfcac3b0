"""The synthetic arithmetic probe: reproducible, correct, varied."""

import re

import pytest

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
