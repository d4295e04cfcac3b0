"""Decomposition of target tokens into source ids: exact, complete (byte fallbacks), truncation
counted, specials by role."""

from __future__ import annotations

import numpy as np
import pytest
from _scripts import multiscript_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zett.tokenization import (
    BYTE_TO_CHAR,
    CanonicalVocab,
    Decomposer,
    SpecialToken,
    SurfaceForms,
    TokenizerError,
    canonicalize,
    from_canonical,
    map_specials,
    overlap,
    to_canonical,
)


def _spelled(dec: Decomposer) -> np.ndarray:
    """Canonical string of every source id and fallback id, `[source_vocab_size + 256]`."""
    return np.array([*dec.canonical.tokens, *BYTE_TO_CHAR], dtype=object)


def assert_concatenates(
    dec: Decomposer,
    tokens: list[str],
    sf: SurfaceForms,
    skip: set[int] = frozenset(),
    every: int = 1,
) -> int:
    """Every untruncated row's pieces spell the target token (truncated: a prefix); returns rows
    checked."""
    spelled = _spelled(dec)
    full = sf.lengths < sf.maxlen
    skip = set(skip) | {i for i in range(len(tokens)) if i % every}
    ids, lengths = sf.ids, sf.lengths
    bad = [
        (i, t, spelled[ids[i, : lengths[i]]].tolist())
        for i, t in enumerate(tokens)
        if full[i] and i not in skip and "".join(spelled[ids[i, : lengths[i]]]) != t
    ]
    assert not bad, f"{len(bad)} rows do not spell their token, e.g. {bad[:5]}"
    cut = [
        i
        for i in np.flatnonzero(~full)
        if i not in skip and not tokens[i].startswith("".join(spelled[ids[i]]))
    ]
    assert not cut, f"{len(cut)} truncated rows are not a prefix of their token, e.g. {cut[:5]}"
    return int(sum(full[i] and i not in skip for i in range(len(tokens))))


def test_gemma_vocabulary_under_smollm2(decomposers, gemma3):
    dec = decomposers["smollm2"]
    target = canonicalize(gemma3)
    sf = dec.decompose_vocab(target)
    assert sf.ids.shape == (262144, 7) and sf.ids.dtype == np.int32 and sf.lengths.dtype == np.int32
    assert sf.mask.shape == sf.ids.shape and (sf.mask.sum(1) == sf.lengths).all()
    assert (sf.ids[~sf.mask] == 0).all()
    assert (sf.lengths >= 1).all()  # every token, special or not, is decomposable
    assert sf.ids.max() < dec.source_vocab_size + dec.n_fallback
    # SmolLM2 has no piece for 21 bytes (0xC0, 0xC1, 0xF5–0xFF never occur in UTF-8; a few
    # controls): fallback ids
    missing = [b for b in range(256) if dec.canonical.id_of(BYTE_TO_CHAR[b]) is None]
    assert {0xC0, 0xC1, *range(0xF5, 0x100)} <= set(missing) and len(missing) < 32
    assert dec([BYTE_TO_CHAR[0xFF]]).row(0) == [dec.source_vocab_size + 0xFF]
    tokens = list(target.tokens)
    special = set(target.special_ids)
    checked = assert_concatenates(
        dec, tokens, sf, skip=special, every=3
    )  # a third of the rows keeps this quick
    assert checked > 70000
    smap = map_specials(target, dec.canonical)
    unmatched = [to_canonical(t.token.encode()) for t in target.specials if t.id not in smap]
    assert sf.n_unmatched_specials == len(unmatched)
    assert sf.n_truncated == sum(
        len(r) > 7 for r in dec.encode([t for t in tokens if t] + unmatched)
    )
    # specials map by role: Gemma's <bos>/<eos>/<start_of_turn> → SmolLM2's bos/eos/turn_start
    # tokens
    s = {t.role: t.id for t in target.specials}
    src = {t.token: t.id for t in dec.canonical.specials}
    assert sf.row(s["bos"]) == [src["<|im_start|>"]] and sf.row(s["eos"]) == [src["<|im_end|>"]]
    assert sf.row(s["turn_start"]) == [src["<|im_start|>"]] and sf.row(s["turn_end"]) == [
        src["<|im_end|>"]
    ]
    assert sf.row(s["unk"]) == [src["<|endoftext|>"]] and sf.row(s["pad"]) == [src["<|im_end|>"]]
    # <mask> has no SmolLM2 counterpart: it is decomposed as the text "<mask>" (and counted)
    assert "".join(_spelled(dec)[sf.row(s["mask"])]) == "<mask>" and sf.n_unmatched_specials > 0
    # tokens SmolLM2 has verbatim decompose to exactly that token
    ov = overlap(target, dec.canonical)
    assert ov.size > 10000
    assert (sf.lengths[ov.target_ids] == 1).all() and (
        sf.ids[ov.target_ids, 0] == ov.source_ids
    ).all()


def test_smollm2_vocabulary_under_gemma(decomposers, smollm2):
    dec = decomposers["gemma3"]
    target = canonicalize(smollm2)
    sf = dec.decompose_vocab(target)
    assert assert_concatenates(dec, list(target.tokens), sf, skip=set(target.special_ids)) > 48000
    # lone bytes (partial characters in SmolLM2) become Gemma's byte-fallback pieces, not our extra
    # ids
    lone = target.id_of("Ã")
    assert (
        sf.row(lone) == [dec.canonical.id_of("Ã")]
        and dec.canonical.id_of("Ã") < dec.source_vocab_size
    )


def test_fallback_ids_for_bytes_the_source_lacks(decomposers, smollm2):
    dec = decomposers[
        "minilm"
    ]  # uncased WordPiece: no upper-case letters, no lone bytes, no newline
    target = canonicalize(smollm2)
    sf = dec(list(target.tokens))
    checked = assert_concatenates(dec, list(target.tokens), sf, skip=set(target.special_ids))
    assert checked > 40000
    fb = sf.ids[sf.mask] >= dec.source_vocab_size
    assert fb.any()
    upper_a = dec(["A"])
    assert upper_a.row(0) == [dec.source_vocab_size + ord("A")]
    # WordPiece: a word start uses a word-start piece, the rest continuation pieces
    vocab = {t: i for i, t in enumerate(dec.canonical.tokens)}
    assert dec([to_canonical(b" running")]).row(0) == [vocab["Ġrunning"]]
    assert dec([to_canonical(b"ning")]).row(0) == [vocab["ning"]]


def test_decomposition_matches_the_source_tokenizer_on_words(decomposers, smollm2, gemma3, verses):
    """On whole pre-tokenized words the decomposition is what the original tokenizer produces."""
    for name, loaded in (("smollm2", smollm2), ("gemma3", gemma3)):
        dec = decomposers[name]
        words = sorted(
            {w for v in verses[::3] for w, _ in smollm2.tokenizer.pre_tokenizer.pre_tokenize_str(v)}
        )
        raw = [smollm2.tokenizer.decoder.decode([w]) for w in words]  # byte-level word → its text
        got = dec.encode([to_canonical(r.encode()) for r in raw])
        want = [e.ids for e in loaded.tokenizer.encode_batch(raw, add_special_tokens=False)]
        same = sum(g == w for g, w in zip(got, want))
        assert same / len(raw) > 0.995, (
            name,
            [(r, g, w) for r, g, w in zip(raw, got, want) if g != w][:5],
        )


def test_truncation_is_counted(smollm2):
    dec = Decomposer(smollm2, maxlen=2)
    toks = [
        to_canonical(s.encode()) for s in ("a", "ab", "日本語のテキスト", "\U0001f600\U0001f600")
    ]
    full = dec.encode(toks)
    sf = dec(toks)
    assert sf.n_truncated == sum(len(r) > 2 for r in full) >= 1
    assert sf.lengths.tolist() == [min(len(r), 2) for r in full]
    for i, r in enumerate(full):
        assert sf.row(i) == r[:2]


def test_empty_and_bad_targets(decomposers):
    dec = decomposers["smollm2"]
    sf = dec(["", to_canonical(b" x")])
    assert sf.lengths.tolist() == [0, 1] and not sf.mask[0].any()
    with pytest.raises(TokenizerError, match="target token 1 '▁x' is not canonical"):
        dec(["a", "▁x"])
    with pytest.raises(TokenizerError, match="target token 0 is a bytes"):
        dec([b"abc"])
    with pytest.raises(TokenizerError, match="maxlen"):
        Decomposer(dec.canonical, maxlen=0)


def test_greedy_decomposer_on_a_bare_canonical_vocab():
    v = CanonicalVocab.from_tokens(
        ["<s>", "Ġthe", "Ġth", "e", "re", "Ã"], [SpecialToken("bos", "<s>", 0)]
    )
    dec = Decomposer(v)
    sf = dec(["Ġthere", "Ã©", "Ġthe"])
    assert sf.row(0) == [1, 4] and sf.row(2) == [1]
    assert sf.row(1) == [5, v.size + 0xA9]  # "©" (0xA9) is not in the vocabulary: fallback id


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(multiscript_text, min_size=1, max_size=8))
def test_any_text_decomposes_back_to_its_bytes(decomposers, texts):
    tokens = [to_canonical(t.encode()) for t in texts]
    for dec in decomposers.values():
        rows = dec.encode(tokens)
        for t, r in zip(tokens, rows):
            assert b"".join(dec.pieces(r)) == from_canonical(t)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=8))
def test_partial_utf8_decomposes_back_to_its_bytes(decomposers, blobs):
    tokens = [to_canonical(b) for b in blobs]
    for dec in decomposers.values():
        for b, r in zip(blobs, dec.encode(tokens)):
            assert b"".join(dec.pieces(r)) == b


def test_blockwise_encoding_equals_one_block(decomposers, gemma3, monkeypatch):
    """encode_flat encodes `_BLOCK` strings per call (memory); block boundaries must not change any
    id."""
    dec = decomposers["smollm2"]
    tokens = list(canonicalize(gemma3).tokens[20000:60000]) + ["", BYTE_TO_CHAR[0xFF] * 3]
    whole_ids, whole_len = dec.encode_flat(tokens)
    monkeypatch.setattr(dec, "_BLOCK", 3 * dec._CHUNK + 17)  # uneven blocks, the last one short
    ids, lengths = dec.encode_flat(tokens)
    assert ids.dtype == whole_ids.dtype == np.int64 and lengths.dtype == np.int64
    np.testing.assert_array_equal(lengths, whole_len)
    np.testing.assert_array_equal(ids, whole_ids)
    assert (
        len(tokens) - (whole_len == 1).sum() > 2 * dec._BLOCK
    )  # several blocks really were encoded
    assert whole_len[-2] == 0 and whole_ids[-3:].tolist() == [dec.source_vocab_size + 0xFF] * 3
