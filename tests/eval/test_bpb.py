"""Bits per byte: exact on a uniform model, pads and specials never scored, bytes are UTF-8 bytes."""

import math

import jax.numpy as jnp
import pytest

from zett.eval.bpb import bits_per_byte

V = 64


def uniform_forward(ids, mask):
    return jnp.zeros(ids.shape + (V,))


def encode_chars(text):
    return [ord(c) % (V - 2) + 2 for c in text]


def test_uniform_model_is_log2_vocab_bits_per_token():
    texts = ["hello world", "grüße aus köln", "привет", "日本語のテキスト"]
    r = bits_per_byte(
        uniform_forward, encode_chars, texts, prefix_id=1, batch_size=3, progress=False
    )
    n_tok = sum(len(t) for t in texts)
    n_bytes = sum(len(t.encode()) for t in texts)
    assert r.n_tokens == n_tok and r.n_bytes == n_bytes
    assert r.bits_per_byte == pytest.approx(n_tok * math.log2(V) / n_bytes, rel=1e-6)
    assert r.bytes_per_token == pytest.approx(n_bytes / n_tok)


def test_specials_are_not_scored_and_batching_does_not_matter():
    texts = ["abc", "de", "fghij"]
    enc = lambda t: [0] + encode_chars(t)  # a special id 0 inside every sequence
    a = bits_per_byte(
        uniform_forward, enc, texts, prefix_id=1, special_ids=[0], batch_size=1, progress=False
    )
    b = bits_per_byte(
        uniform_forward, enc, texts, prefix_id=1, special_ids=[0], batch_size=4, progress=False
    )
    assert a.n_tokens == 10 and a.nll_bits == pytest.approx(b.nll_bits, rel=1e-6)


def test_peaked_model_scores_targets():
    # a model that puts all mass on "next id = current id + 1" scores ~0 bits on such sequences
    def forward(ids, mask):
        return 50.0 * jnp.eye(V)[(ids + 1) % V]

    r = bits_per_byte(forward, lambda t: [2, 3, 4, 5], ["abcd"], prefix_id=1, progress=False)
    assert r.bits_per_byte < 1e-6


def test_too_long_text_is_an_error_not_a_truncation():
    with pytest.raises(ValueError, match="exceeds max_len"):
        bits_per_byte(
            uniform_forward, encode_chars, ["x" * 40], prefix_id=1, max_len=16, progress=False
        )
