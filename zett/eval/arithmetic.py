"""Synthetic arithmetic text, generated in code: a probe "language" for the bench that isolates
how tokenizers split numbers. Donor transplants are reported to fail where digit splitting
differs (one digit per token against multi-digit chunks). SmolLM2's, Gemma-3's and Qwen2's
tokenizers all split digits one per token (the same 70 tokens on `arithmetic_texts(1, lines=4)`),
so between them the probe measures the operators and spacing; tokenizers that merge digit runs
(Unigram models trained on text) are where it separates methods."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OPERATORS = ("+", "-", "*")
ARITH = "arith"  # the probe's language code in `zett bench` (`languages: [..., arith]`)
SPLITS = ("train", "heldout")
LINES_PER_PASSAGE = 48  # ≈ 1 kB, like a corpus passage


def _number(rng: np.random.Generator, digits: int) -> int:
    return int(rng.integers(10 ** (digits - 1) if digits > 1 else 0, 10**digits))


def arithmetic_line(rng: np.random.Generator, max_digits: int = 6) -> str:
    """One correct equation "a op b = c": operand lengths 1..max_digits drawn independently,
    written with spaces ("123 + 4567 = 4690") or without ("123+4567=4690")."""
    op = OPERATORS[int(rng.integers(len(OPERATORS)))]
    a = _number(rng, int(rng.integers(1, max_digits + 1)))
    b = _number(rng, int(rng.integers(1, max_digits + 1)))
    c = a + b if op == "+" else a - b if op == "-" else a * b
    sep = " " if rng.random() < 0.5 else ""
    return f"{a}{sep}{op}{sep}{b}{sep}={sep}{c}"


def arithmetic_texts(
    n: int = 64, *, seed: int | Sequence[int] = 0, lines: int = 16, max_digits: int = 6
) -> list[str]:
    """n passages of `lines` equations each (newline-separated), reproducible from `seed` (an int
    or a sequence of ints, numpy's seed sequence)."""
    if n < 0 or lines < 1 or max_digits < 1:
        raise ValueError(
            f"arithmetic_texts: need n ≥ 0, lines ≥ 1, max_digits ≥ 1; got {n}, {lines}, "
            f"{max_digits}"
        )
    rng = np.random.default_rng(seed)
    return ["\n".join(arithmetic_line(rng, max_digits) for _ in range(lines)) for _ in range(n)]


def arithmetic_records(
    n: int, split: str, seed: int = 0, lines: int = LINES_PER_PASSAGE
) -> list[dict]:
    """n passages of `split` as corpus records {text, lang, source, doc, unit}, each passage its own
    unit. The splits come from distinct random streams ([seed, split index]), so the bench's probe
    trains on other equations than it scores (a short equation such as "2+3=5" can still occur in
    both: the space of short ones is small)."""
    if split not in SPLITS:
        raise ValueError(f"arithmetic split {split!r}: expected one of {SPLITS}")
    texts = arithmetic_texts(n, seed=[seed, SPLITS.index(split)], lines=lines)
    docs = [f"arithmetic/{split}/{seed}/{i}" for i in range(n)]
    return [
        {"text": t, "lang": ARITH, "source": "arithmetic", "doc": d, "unit": d}
        for t, d in zip(texts, docs, strict=True)
    ]


def digit_split(tokenizer, texts: Sequence[str]) -> dict[str, float | None]:
    """How a `tokenizers.Tokenizer` cuts the numbers of `texts`: over the tokens whose decoded text
    holds a digit, the digits per token and the share that holds more than one digit (0 for a
    tokenizer that splits digits one per token). Tokens are decoded one by one: offsets overlap
    (a leading "▁" claims the first character) and byte-fallback pieces spell hex digits. No token
    with a digit (none in the texts, or every digit read as `<unk>`): the ratios are None."""
    digits = tokens = multi = 0
    for text in texts:
        for i in tokenizer.encode(text, add_special_tokens=False).ids:
            n = sum(ch.isdigit() for ch in tokenizer.decode([i], skip_special_tokens=False))
            if n:
                digits, tokens, multi = digits + n, tokens + 1, multi + (n > 1)
    return {
        "digits": digits,
        "digit_tokens": tokens,
        "digits_per_token": digits / tokens if tokens else None,
        "multi_digit_share": multi / tokens if tokens else None,
    }
