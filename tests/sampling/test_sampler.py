"""Sampled tokenizers: valid on every script, specials in place, seeded, and faithful to the current
batch."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer

from zett.sampling import (
    SamplerConfig,
    TokenizerSampler,
    batch_texts,
    count_substrings,
    full_tokenizer,
    pre_tokenize,
)
from zett.sampling.unigram import sample_vocab, whitespace_pieces
from zett.tokenization import BYTE_TO_CHAR, canonicalize


def _sample(bible, specials=(), seed=0, config=None, n_batches=3, batch_size=32):
    sampler = TokenizerSampler(config or SamplerConfig(), specials)
    for step in range(n_batches):
        texts, _ = batch_texts(bible, step, batch_size, 2048, seed=0)
        vocab = sampler(texts, np.random.default_rng([seed, step]))
    return vocab


@pytest.fixture(scope="module")
def minilm_specials(minilm):
    return canonicalize(minilm).specials


@pytest.fixture(scope="module")
def sampled(bible, minilm, minilm_specials):
    vocab = _sample(bible, minilm_specials)
    return vocab, full_tokenizer(vocab, Tokenizer.from_file(str(minilm / "tokenizer.json")))


def test_vocabulary_is_valid(sampled, minilm_specials):
    vocab, tok = sampled
    assert vocab.size == SamplerConfig().vocab_size == tok.get_vocab_size()
    assert len(set(vocab.pieces)) == vocab.size, "ids must be unique"
    assert set(BYTE_TO_CHAR) <= set(vocab.pieces), "every byte must be a piece"
    assert set(whitespace_pieces(15)) <= set(vocab.pieces)
    for s in minilm_specials:
        assert vocab.pieces[s.id] == s.token and tok.token_to_id(s.token) == s.id
        assert tok.id_to_token(s.id) == s.token
    assert [s.id for s in vocab.specials] == [s.id for s in minilm_specials]
    # the canonical view of the saved tokenizer is the sampled vocabulary itself
    canon = canonicalize(Tokenizer.from_str(tok.to_str()))
    assert canon.kind == "byte_level"
    special_ids = {s.id for s in minilm_specials}
    assert all(
        c == ("" if i in special_ids else p)
        for i, (c, p) in enumerate(zip(canon.tokens, vocab.pieces))
    )


def test_every_script_encodes_and_round_trips(sampled, script_texts):
    vocab, tok = sampled
    special_ids = set(vocab.special_ids.tolist())
    for name, text in script_texts.items():
        enc = tok.encode(text, add_special_tokens=False)
        assert enc.ids and not special_ids.intersection(enc.ids), name
        assert tok.decode(enc.ids) == text, name
    # every single byte is encodable on its own, 0xFF included
    every_byte = bytes(range(256)).decode("latin-1")
    assert tok.decode(tok.encode(every_byte, add_special_tokens=False).ids) == every_byte
    # the base's template ([CLS] … [SEP]) is kept
    ids = tok.encode("hello").ids
    assert ids[0] == 101 and ids[-1] == 102


def test_same_seed_same_tokenizer_different_seed_different(bible):
    config = SamplerConfig(vocab_size=8192)
    a = _sample(bible, seed=1, config=config, n_batches=2)
    b = _sample(bible, seed=1, config=config, n_batches=2)
    c = _sample(bible, seed=2, config=config, n_batches=2)
    assert a.pieces == b.pieces and np.array_equal(a.scores, b.scores) and a.sigma == b.sigma
    assert a.pieces != c.pieces


def test_frequent_tokens_of_the_current_batch_are_present(bible):
    """15 batches of English in the window, then one batch in another script: its top substrings make
    it."""
    langs = np.asarray([bible[i][1] for i in range(len(bible))])
    en = [
        bible[int(i)][0][:2048]
        for i in np.flatnonzero(langs == bible.languages.index("en"))[: 15 * 16]
    ]
    ru = [
        bible[int(i)][0][:2048] for i in np.flatnonzero(langs == bible.languages.index("ru"))[:16]
    ]
    sampler = TokenizerSampler(SamplerConfig(noise_median=0))
    for b in range(15):
        sampler.observe(pre_tokenize(en[b * 16 : (b + 1) * 16]))
    pre = pre_tokenize(ru)
    current = count_substrings(pre.words, pre.counts)
    vocab = sampler(pre, np.random.default_rng(0))
    top = np.argsort(-current.scores, kind="stable")[:500]
    missing = set(current.strings(top)) - set(vocab.pieces)
    assert not missing
    # with the reference's median noise (σ = 1e-5) the most frequent ones still make it
    noisy = sample_vocab(sampler.window, 32768, 1e-5, np.random.default_rng(0))
    assert set(current.strings(top[:100])) <= set(noisy.pieces)


def test_sizes_and_noise_are_drawn_per_batch(bible):
    config = SamplerConfig(
        vocab_size_dist="log_uniform", vocab_size_min=2048, vocab_size_max=16384, window=2
    )
    sampler = TokenizerSampler(config)
    sizes, sigmas = [], []
    for step in range(4):
        texts, _ = batch_texts(bible, step, 16, 2048, seed=0)
        v = sampler(texts, np.random.default_rng(step))
        sizes.append(v.size)
        sigmas.append(v.sigma)
        assert 2048 <= v.size <= 16384
    assert len(set(sizes)) > 1 and len(set(sigmas)) == 4


def test_too_small_vocabulary_is_an_error(bible):
    with pytest.raises(ValueError, match="below"):
        _sample(bible, config=SamplerConfig(vocab_size=300), n_batches=1, batch_size=4)


@pytest.mark.parametrize("sigma", [0.0, 1e-9, 1e-5, 1e-2])
def test_top_k_on_candidates_equals_top_k_on_all(bible, sigma):
    """The vocabulary's top-k runs its partition on a pre-filtered candidate set: same rows, same
    order, ties (σ = 0: many equal scores) broken by key as on all rows."""
    from zett.sampling.unigram import _candidates, _top_k

    texts, _ = batch_texts(bible, 0, 64, 2048, seed=0)
    pre = pre_tokenize(texts)
    stats = count_substrings(pre.words, pre.counts)
    rng = np.random.default_rng(0)
    values = stats.scores / stats.total + (rng.normal(0, sigma, len(stats)) if sigma else 0)
    for k in (1, 100, 5000, len(stats) // 9, len(stats) - 1):
        want = np.lexsort((stats.keys, -values))[
            :k
        ]  # full sort: value descending, then key ascending
        np.testing.assert_array_equal(_top_k(values, stats.keys, k), want)
    assert (
        len(_candidates(values, 5000)) < len(stats) // 4
    )  # the pre-filter really shrinks the partition


def test_a_frequent_substring_spelling_a_special_token_is_not_a_second_piece(bible):
    """Texts full of a special token's text make it a top substring; it stays only at the special's
    id."""
    from zett.tokenization import SpecialToken

    special = SpecialToken("eos", "endoftext", 3)
    sampler = TokenizerSampler(SamplerConfig(vocab_size=4096, noise_median=0), (special,))
    texts, _ = batch_texts(bible, 0, 16, 2048, seed=0)
    vocab = sampler([t + " endoftext" * 50 for t in texts], np.random.default_rng(0))
    assert (
        vocab.size == 4096
        and vocab.pieces.count("endoftext") == 1
        and vocab.pieces[3] == "endoftext"
    )
    assert "ndoftext" in vocab.pieces  # its neighbours are frequent too, and do get in
