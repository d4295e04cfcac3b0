"""Heuristic baselines on real tokenizers: SmolLM2's byte BPE as source, MiniLM's WordPiece as
target."""

import numpy as np
import pytest

from zett import assets
from zett.heuristics import (
    SourceEmbeddings,
    copy_plan,
    fvt_calibrated_init,
    fvt_init,
    lexical_init,
    mean_init,
    mean_noise_init,
    mvn_init,
    random_init,
)
from zett.tokenization import canonicalize, load_tokenizer

HEURISTICS = {
    "fvt": fvt_init,
    "lexical": lexical_init,
    "mean": mean_init,
    "mean_noise": mean_noise_init,
    "mvn": mvn_init,
    "random": random_init,
}


@pytest.fixture(scope="module")
def pair():
    src_tok = load_tokenizer(assets.smollm2_gguf())
    src_vocab = canonicalize(src_tok)
    tgt_vocab = canonicalize(load_tokenizer(assets.minilm_dir()))
    rng = np.random.default_rng(0)
    e_in = (rng.normal(size=(src_vocab.size, 16)) * 0.5 + np.linspace(-1, 1, 16)).astype(np.float32)
    e_out = rng.normal(size=(src_vocab.size, 16)).astype(np.float32)
    return SourceEmbeddings(src_vocab, e_in, e_out), tgt_vocab


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_overlap_and_specials_are_copied(pair, name):
    source, target = pair
    out = HEURISTICS[name](source, target, seed=0)
    t_ids, s_ids = copy_plan(source, target)
    assert out.input_embeddings.shape == (target.size, 16) and out.output_embeddings.shape == (
        target.size,
        16,
    )
    np.testing.assert_array_equal(out.input_embeddings[t_ids], source.input_embeddings[s_ids])
    np.testing.assert_array_equal(out.output_embeddings[t_ids], source.output_embeddings[s_ids])
    assert (
        out.info["n_copied"] == len(set(t_ids.tolist())) > 10_000
    )  # WordPiece and SmolLM2 share most words
    assert np.isfinite(out.input_embeddings).all()


def test_fvt_is_mean_of_decomposition(pair):
    source, target = pair
    out = fvt_init(source, target)
    dec = source.get_decomposer()
    new = np.flatnonzero(~out.copied)
    checked = 0
    for i in new[:: max(1, len(new) // 50)]:
        pieces = dec.encode([target.tokens[i]])[0]
        if not pieces or max(pieces) >= dec.source_vocab_size:
            continue
        np.testing.assert_allclose(
            out.input_embeddings[i], source.input_embeddings[pieces].mean(0), rtol=1e-5, atol=1e-6
        )
        assert b"".join(dec.pieces(pieces)) == target.bytes_of(int(i))
        checked += 1
    assert checked >= 20


def test_statistical_methods_match_source_statistics(pair):
    source, target = pair
    rnd = random_init(source, target, seed=1)
    new = ~rnd.copied
    np.testing.assert_allclose(
        rnd.input_embeddings[new].mean(0), source.input_embeddings.mean(0), atol=0.05
    )
    np.testing.assert_allclose(
        rnd.input_embeddings[new].std(0), source.input_embeddings.std(0), rtol=0.1
    )
    mvn = mvn_init(source, target, seed=1)
    np.testing.assert_allclose(
        mvn.input_embeddings[~mvn.copied],
        np.broadcast_to(source.input_embeddings.mean(0), (int((~mvn.copied).sum()), 16)),
        atol=1e-3,
    )
    mean = mean_init(source, target)
    assert np.allclose(
        mean.input_embeddings[~mean.copied], source.input_embeddings.mean(0), atol=1e-6
    )
    noisy = mean_noise_init(source, target, seed=3)
    spread = noisy.input_embeddings[~noisy.copied].std(0)
    assert (spread > 0).all() and (spread < 0.2 * source.input_embeddings.std(0)).all()
    assert not np.array_equal(
        random_init(source, target, seed=2).input_embeddings, rnd.input_embeddings
    )


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_rows_past_the_tokenizer_never_change_the_result(pair, name):
    """Padding rows (ids no token has) are untrained in many checkpoints and pushed far out by
    `zett extend`; a method's statistics must not see them."""
    source, target = pair
    junk = np.full((128, 16), 1e4, np.float32)  # what extend's padding rows look like: huge norms
    padded = SourceEmbeddings(
        source.vocab,
        np.concatenate([source.input_embeddings, junk]),
        np.concatenate([source.output_embeddings, -junk]),
    )
    want = HEURISTICS[name](source, target, seed=0)
    got = HEURISTICS[name](padded, target, seed=0)
    np.testing.assert_array_equal(got.input_embeddings, want.input_embeddings)
    np.testing.assert_array_equal(got.output_embeddings, want.output_embeddings)


def test_the_undertrained_filter_never_sees_rows_past_the_tokenizer(pair):
    """fvt-calibrated's filter flags rows by their norm against the table's median and MAD: a block
    of zero padding rows (untrained ids no token has) must not move that threshold."""
    source, target = pair
    n = source.input_embeddings.shape[0]
    zeros = np.zeros((n // 2, 16), np.float32)
    padded = SourceEmbeddings(
        source.vocab,
        np.concatenate([source.input_embeddings, zeros]),
        np.concatenate([source.output_embeddings, zeros]),
    )
    want = fvt_calibrated_init(source, target, undertrained_z=1.0)
    got = fvt_calibrated_init(padded, target, undertrained_z=1.0)
    assert want.info["n_flagged"] > 0
    assert got.info["n_flagged"] == want.info["n_flagged"]
    np.testing.assert_array_equal(got.input_embeddings, want.input_embeddings)
    np.testing.assert_array_equal(got.output_embeddings, want.output_embeddings)
