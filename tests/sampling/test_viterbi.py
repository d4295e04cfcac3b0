"""The numpy Viterbi segments exactly like the `tokenizers` Unigram model, on every script and any
noise."""

from __future__ import annotations

import numpy as np
import pytest

from zett.sampling import SamplerConfig, TokenizerSampler, batch_texts, pre_tokenize
from zett.sampling.encode import encode_words
from zett.sampling.substrings import count_occurrences
from zett.sampling.viterbi import viterbi_encode


@pytest.mark.parametrize(
    "config, seed",
    [
        (SamplerConfig(), 0),  # σ ≈ 1.7e-5
        (SamplerConfig(), 3),  # σ ≈ 0.035: near-random pieces, many at log p = −1e5 (ties)
        (SamplerConfig(noise_median=0, vocab_size=4096), 0),
        (SamplerConfig(char_aligned=False, vocab_size=16384), 1),  # pieces that split characters
    ],
)
def test_same_segmentation_as_tokenizers(bible, script_texts, config, seed):
    sampler = TokenizerSampler(config)
    texts, _ = batch_texts(bible, 0, 48, 2048, seed=0)
    texts += list(script_texts.values()) + [
        "",
        " ",
        "\n\n\n",
        "x" * 300,
        "ÿÿÿ\x00\x01 " * 5,
        "a  b\n\n \t c\t\t\td   ",
    ]
    pre = pre_tokenize(texts)
    vocab = sampler(pre, np.random.default_rng(seed))
    want = encode_words(vocab, pre)
    got = viterbi_encode(vocab, pre, config.char_aligned)
    np.testing.assert_array_equal(got.lengths, want.lengths)
    np.testing.assert_array_equal(got.ids, want.ids)
    np.testing.assert_array_equal(got.starts, want.starts)
    # the collator's path: pieces found through the counted occurrences of the same words instead of
    # by hash search
    _, occ = count_occurrences(pre.words, pre.counts, config.max_substring_len, config.char_aligned)
    assert len(occ.other_keys) > 0  # whitespace runs (≥ 2 whitespace bytes) take the search path
    reused = viterbi_encode(vocab, pre, config.char_aligned, occurrences=occ)
    for name in ("ids", "starts", "lengths"):
        np.testing.assert_array_equal(getattr(reused, name), getattr(want, name), err_msg=name)
