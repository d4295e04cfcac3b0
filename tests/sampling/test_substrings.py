"""Substring statistics against a brute-force count, on multi-byte scripts; the FIFO window."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from zett.sampling import SubstringWindow, count_substrings, pre_tokenize
from zett.sampling.pretokenize import WHITESPACE_CHARS
from zett.sampling.substrings import count_occurrences
from zett.tokenization import from_canonical


def _brute_force(texts, max_len=15, char_aligned=True):
    """Every substring of every pre-token occurrence, from every start: score = count × bytes."""
    pre = pre_tokenize(texts)
    scores, total = Counter(), 0
    for tw in pre.text_words:
        for j in tw:
            w = pre.words[j]
            raw = from_canonical(w)
            starts = [i for i in range(len(raw)) if not char_aligned or (raw[i] & 0xC0) != 0x80]
            for a in starts:
                for n in range(1, max_len + 1):
                    b = a + n
                    if b > len(raw):
                        break
                    if char_aligned and b < len(raw) and (raw[b] & 0xC0) == 0x80:
                        continue
                    s = w[a:b]
                    total += n
                    if n >= 2 and sum(c in WHITESPACE_CHARS for c in s) < 2:
                        scores[s] += n
    return scores, total


def _as_dict(stats):
    return dict(zip(stats.strings(range(len(stats))), stats.scores.tolist()))


@pytest.mark.parametrize("char_aligned", [True, False])
def test_matches_brute_force(script_texts, char_aligned):
    texts = [t[:300] for t in script_texts.values()] + ["  spaced  out\n\n\n  text ", "x" * 40]
    pre = pre_tokenize(texts)
    stats = count_substrings(pre.words, pre.counts, 15, char_aligned)
    expected, total = _brute_force(texts, 15, char_aligned)
    assert stats.total == total
    assert _as_dict(stats) == dict(expected)
    assert np.all(np.diff(stats.keys.astype(np.float64)) >= 0) and len(
        np.unique(stats.keys)
    ) == len(stats)

    # the same count with every occurrence located (the encoder's input): same stats; each kept
    # occurrence spells its stats row; kept + other occurrences are every (start, length ≥ 2) inside
    # a word, once
    same, occ = count_occurrences(pre.words, pre.counts, 15, char_aligned)
    assert _as_dict(same) == _as_dict(stats) and same.total == stats.total
    text = "".join(pre.words)
    assert [
        text[a : a + n] for a, n in zip(occ.starts.tolist(), occ.lengths.tolist())
    ] == stats.strings(occ.rows)
    other = [text[a : a + n] for a, n in zip(occ.other_starts.tolist(), occ.other_lengths.tolist())]
    assert other and all(sum(c in WHITESPACE_CHARS for c in x) >= 2 for x in other)
    found = list(zip(occ.starts.tolist(), occ.lengths.tolist())) + list(
        zip(occ.other_starts.tolist(), occ.other_lengths.tolist())
    )
    want, at = [], 0
    for w in pre.words:
        raw = from_canonical(w)
        ok = [
            i
            for i in range(len(raw) + 1)
            if not char_aligned or i == len(raw) or (raw[i] & 0xC0) != 0x80
        ]
        want += [(at + a, b - a) for a in ok for b in ok if 2 <= b - a <= 15]
        at += len(w)
    assert sorted(found) == sorted(want)


def test_every_start_position_on_multibyte_text():
    # the reference took starts at every 4th character, shifted by one on multi-byte text: here
    # every character start counts, and nothing starts inside a character
    text = "日本語の文"
    pre = pre_tokenize([text])
    got = _as_dict(count_substrings(pre.words, pre.counts))
    chars = [" "] + list(text)
    want = {}
    for a in range(len(chars)):
        for b in range(a + 1, len(chars) + 1):  # single bytes are the byte pieces, not candidates
            s = "".join(chars[a:b]).encode()
            if 2 <= len(s) <= 15:
                want[s] = len(s)
    assert {from_canonical(k): v for k, v in got.items()} == want


def test_window_keeps_last_batches(bible):
    batches = [[bible[i * 7 + j][0][:500] for j in range(7)] for i in range(4)]
    stats = [count_substrings(p.words, p.counts) for p in map(pre_tokenize, batches)]
    window = SubstringWindow(2)
    for s in stats:
        window.push(s)
    expected = Counter()
    for s in stats[-2:]:
        expected.update(_as_dict(s))
    got = dict(zip(window.strings(np.arange(len(window))), window.scores.tolist()))
    assert got == dict(expected)
    assert window.total == stats[-1].total + stats[-2].total
    assert window.n_batches == 2 and np.all(window.scores > 0)


def test_incremental_window_equals_a_window_built_from_scratch(bible):
    """After many pushes (adds and evictions) the running table equals one built from the last `size`
    batches alone: same keys, scores and strings, and every row points at the newest batch holding
    it."""
    batches = [[bible[i * 5 + j][0][:400] for j in range(5)] for i in range(7)]
    stats = [count_substrings(p.words, p.counts) for p in map(pre_tokenize, batches)]
    running = SubstringWindow(3)
    for s in stats:
        running.push(s)
    fresh = SubstringWindow(3)
    for s in stats[-3:]:
        fresh.push(s)
    np.testing.assert_array_equal(running.keys, fresh.keys)
    np.testing.assert_array_equal(running.scores, fresh.scores)
    rows = np.arange(len(running))
    assert running.strings(rows) == fresh.strings(rows) and running.total == fresh.total
    newest = np.full(len(running), -1)
    for age, s in enumerate(stats[-3:]):
        newest[np.searchsorted(running.keys, s.keys)] = age
    np.testing.assert_array_equal(
        running.slots - running.slots.min(), newest
    )  # serials 4, 5, 6 → ages 0, 1, 2
