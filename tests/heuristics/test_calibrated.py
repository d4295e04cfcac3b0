"""Calibrated subword composition: input rows at their script's typical norm, output rows weighted
by characters, the optional under-trained filter. SmolLM2's BPE as source, MiniLM's WordPiece as
target (Latin words plus CJK, Cyrillic, Arabic, ... characters)."""

import numpy as np
import pytest

from zett import assets
from zett.heuristics import SourceEmbeddings, copy_plan, fvt_init
from zett.heuristics.calibrated import fvt_calibrated_init, script_of, undertrained
from zett.tokenization import canonicalize, load_tokenizer, to_canonical


@pytest.mark.parametrize(
    "text, script",
    [
        ("Hello", "LATIN"),
        (" naïve", "LATIN"),
        ("Привет", "CYRILLIC"),
        ("中文", "HAN"),
        ("カタカナ", "KATAKANA"),
        ("مرحبا", "ARABIC"),
        ("नमस्ते", "DEVANAGARI"),  # vowel signs and virama are DEVANAGARI marks
        (" 2024", "digit"),
        ("  \n", "space"),
        ("+=", "symbol"),
    ],
)
def test_script_of(text, script):
    assert script_of(text.encode()) == script


def test_script_of_fragments_and_mixed():
    assert script_of("中".encode()[:2]) == "bytes"  # an incomplete character
    assert script_of("a中文".encode()) == "HAN"  # the majority of letters
    assert script_of("é".encode()[:1] + b"ab") == "LATIN"  # a stray byte is ignored


@pytest.fixture(scope="module")
def pair():
    src_vocab = canonicalize(load_tokenizer(assets.smollm2_gguf()))
    tgt_vocab = canonicalize(load_tokenizer(assets.minilm_dir()))
    rng = np.random.default_rng(0)
    # rows whose norm depends on the script: Latin ~3, Han ~0.5, everything else ~1.2
    scale = {"LATIN": 3.0, "HAN": 0.5}
    want = np.array(
        [scale.get(script_of(src_vocab.bytes_of(i)), 1.2) for i in range(src_vocab.size)]
    )
    e_in = rng.normal(size=(src_vocab.size, 24)) + 0.3
    e_in *= (want * rng.uniform(0.8, 1.2, src_vocab.size) / np.linalg.norm(e_in, axis=1))[:, None]
    e_out = rng.normal(size=(src_vocab.size, 24))
    return SourceEmbeddings(src_vocab, e_in.astype(np.float32), e_out.astype(np.float32)), tgt_vocab


def test_input_rows_get_their_scripts_median_norm(pair):
    source, target = pair
    out = fvt_calibrated_init(source, target)
    fvt = fvt_init(source, target)
    t_ids, s_ids = copy_plan(source, target)
    np.testing.assert_array_equal(out.input_embeddings[t_ids], source.input_embeddings[s_ids])

    vocab = source.vocab
    regular = np.asarray(vocab.regular_ids)
    norm = np.linalg.norm(source.input_embeddings[regular], axis=1)
    scripts = np.array([script_of(vocab.bytes_of(int(i))) for i in regular])
    median = {s: np.median(norm[scripts == s]) for s in set(scripts) if (scripts == s).sum() >= 20}
    overall = np.median(norm)

    new = np.flatnonzero(~out.copied)
    seen = set()
    for i in new.tolist():
        script = script_of(target.bytes_of(i))
        seen.add(script)
        row = out.input_embeddings[i].astype(np.float64)
        assert np.linalg.norm(row) == pytest.approx(median.get(script, overall), rel=1e-5)
        ref = fvt.input_embeddings[i].astype(np.float64)  # direction: FVT's mean of the pieces
        assert row @ ref / np.linalg.norm(row) / np.linalg.norm(ref) > 1 - 1e-5
    assert {"LATIN", "HAN", "CYRILLIC", "digit"} <= seen
    assert out.info["n_scripts"] == len(median)


def test_output_rows_weight_pieces_by_characters(pair):
    source, target = pair
    out = fvt_calibrated_init(source, target)
    dec = source.get_decomposer()
    checked = 0
    for i in np.flatnonzero(~out.copied)[::50].tolist():
        pieces = dec.encode([target.tokens[i]])[0]
        if len(pieces) < 2 or max(pieces) >= dec.source_vocab_size:
            continue
        try:
            chars = [len(b.decode("utf-8")) for b in dec.pieces(pieces)]
        except UnicodeDecodeError:  # fragments: counted by the code's own rule, not checked here
            continue
        want = np.average(source.output_embeddings[pieces].astype(np.float64), 0, weights=chars)
        np.testing.assert_allclose(out.output_embeddings[i], want, rtol=1e-5, atol=1e-6)
        checked += len(set(chars)) > 1
    assert checked >= 20  # rows where the weights are not all equal


def test_undertrained_filter(pair):
    source, target = pair
    vocab, dec = source.vocab, source.get_decomposer()
    # flag the first piece of some multi-piece new tokens, and some shared words
    tokens = list(target.tokens)
    t_ids, s_ids = copy_plan(source, target)
    shared = {int(t): int(s) for t, s in zip(t_ids, s_ids)}
    probes = []
    for i, tok in enumerate(tokens):
        if not tok or i in shared:
            continue
        pieces = dec.encode([tok])[0]
        if len(pieces) == 2 and max(pieces) < dec.source_vocab_size:
            if len(vocab.bytes_of(pieces[0])) >= 3 and vocab.bytes_of(pieces[0]).isascii():
                probes.append((i, pieces))
        if len(probes) == 8:
            break
    copies = [t for t in sorted(shared)[1000:1010] if len(vocab.bytes_of(shared[t])) >= 2]
    flag = sorted({p[0] for _, p in probes} | {shared[t] for t in copies})
    e_in = source.input_embeddings.copy()
    e_in[flag] *= 1e-3
    src = SourceEmbeddings(vocab, e_in, source.output_embeddings)
    assert np.flatnonzero(undertrained(e_in, 6.0)).tolist() == flag

    out = fvt_calibrated_init(src, target, undertrained_z=6.0)
    assert out.info["n_flagged"] == len(flag)

    def byte_ids(piece):  # the single-byte source tokens that spell a flagged piece
        return [vocab.id_of(to_canonical(bytes([b]))) for b in vocab.bytes_of(piece)]

    e_out = src.output_embeddings.astype(np.float64)
    for i, (first, second) in probes:  # ASCII: one character per byte, equal weights
        ids = byte_ids(first) + [second]
        w = [1.0] * (len(ids) - 1) + [len(vocab.bytes_of(second).decode())]
        np.testing.assert_allclose(
            out.output_embeddings[i], np.average(e_out[ids], 0, weights=w), rtol=1e-5, atol=1e-6
        )
    for t in copies:  # not copied: composed from its bytes
        assert not out.copied[t]
        ids = byte_ids(shared[t])
        weights = [len(vocab.bytes_of(j).decode("utf-8", "replace")) for j in ids]
        np.testing.assert_allclose(
            out.output_embeddings[t], np.average(e_out[ids], 0, weights=weights), rtol=1e-5
        )
    flagged_shared = {t for t, s in shared.items() if s in set(flag)}  # includes some probe pieces
    assert len(flagged_shared) >= len(copies)
    assert not out.copied[sorted(flagged_shared)].any()
    assert out.info["n_copied"] == len(set(t_ids.tolist())) - len(flagged_shared)


def test_tied_model_takes_the_output_rule_unless_asked(pair):
    source, target = pair
    untied = fvt_calibrated_init(source, target)
    tied = SourceEmbeddings(source.vocab, source.output_embeddings)  # one table
    by_output = fvt_calibrated_init(tied, target)
    new = ~untied.copied
    np.testing.assert_array_equal(by_output.input_embeddings[new], untied.output_embeddings[new])
    assert by_output.info["rule"] == {"input": "output"}
    by_input = fvt_calibrated_init(tied, target, tied_rule="input")
    ref = fvt_calibrated_init(
        SourceEmbeddings(source.vocab, source.output_embeddings, source.input_embeddings), target
    )
    np.testing.assert_array_equal(by_input.input_embeddings, ref.input_embeddings)
    with pytest.raises(ValueError, match="tied_rule"):
        fvt_calibrated_init(tied, target, tied_rule="both")
