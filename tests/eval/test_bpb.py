"""Bits per byte under the protocol: exact on a uniform model, independent of batching, every token
conditioned on exactly the protocol's context (checked token by token against a plain forward pass),
the original model = FVT onto its own vocabulary, and windows the model cannot hold are an error."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zett.bench import make_bytes_tokenizer
from zett.eval.bpb import bits_per_byte, logits_scorer, model_forward
from zett.eval.model_bpb import evaluate_bpb
from zett.eval.protocol import ScoringProtocol
from zett.heuristics import SourceEmbeddings, fvt_init
from zett.models.decoder import tiny_config
from zett.models.registry import build_model
from zett.tokenization import canonicalize, load_tokenizer

V = 257  # 256 bytes + <|endoftext|>
TEXTS = ["hello world", "grüße aus köln", "привет", "日本語のテキスト 👋🏽"]


def uniform_forward(ids, mask):
    return jnp.zeros(ids.shape + (V + 1,))


def test_uniform_model_is_log2_vocab_bits_per_byte():
    tok = make_bytes_tokenizer()
    protocol = ScoringProtocol(context_bytes=8, stride_bytes=4, batch_tokens=64)
    r = bits_per_byte(
        logits_scorer(uniform_forward, vocab_limit=V), tok, TEXTS, prefix_id=V, protocol=protocol
    )
    n_bytes = sum(len(t.encode()) for t in TEXTS)
    assert r.n_tokens == r.n_bytes == n_bytes  # one token per byte, every one scored
    # the appended row (id V) takes no probability mass: exactly log2(V) bits per token
    assert r.bits_per_byte == pytest.approx(math.log2(V), rel=1e-6)
    assert r.doc_bytes == tuple(len(t.encode()) for t in TEXTS)
    assert sum(r.doc_bits) == pytest.approx(r.nll_bits)


@pytest.fixture(scope="module")
def tiny():
    return build_model(tiny_config(vocab_size=V), seed=0)


def test_batching_does_not_change_the_score(tiny):
    tok = make_bytes_tokenizer()
    a, b = (
        evaluate_bpb(
            tiny,
            tok,
            TEXTS,
            prefix_row=256,
            protocol=ScoringProtocol(context_bytes=24, stride_bytes=16, batch_tokens=n),
            progress=False,
        )
        for n in (32, 512)
    )
    np.testing.assert_allclose(a.doc_bits, b.doc_bits, rtol=1e-5)


def test_every_token_sees_exactly_the_protocols_context(tiny):
    """Reference: one forward pass per token on [BOS] + the bytes max(0, k·S − C) .. p, read at the
    last position (k = p // S) — no windows, no batching, no chunked head."""
    tok = make_bytes_tokenizer()
    texts = ["In the beginning God created", "и земля была безвидна"]
    protocol = ScoringProtocol(context_bytes=12, stride_bytes=5, batch_tokens=64)
    r = evaluate_bpb(tiny, tok, texts, prefix_row=256, protocol=protocol, progress=False)
    forward = model_forward(tiny)
    expected = []
    for text in texts:
        data = list(text.encode())
        nats = 0.0
        for p, byte in enumerate(data):
            lo = max(0, p // 5 * 5 - 12)
            seq = [256] + data[lo:p]
            ids = np.zeros((1, 32), np.int32)
            ids[0, : len(seq)] = seq
            mask = (np.arange(32) < len(seq)).astype(np.int32)[None]
            logits = forward(jnp.asarray(ids), jnp.asarray(mask))[0, len(seq) - 1, :V]
            nats -= float(jax.nn.log_softmax(logits.astype(jnp.float32))[byte])
        expected.append(nats / math.log(2))
    np.testing.assert_allclose(r.doc_bits, expected, rtol=1e-5)


@pytest.mark.parametrize("tied", [True, False])
def test_fvt_onto_the_models_own_vocabulary_scores_exactly_like_the_original(tied):
    model = build_model(tiny_config(vocab_size=V, tie_word_embeddings=tied), seed=3)
    loaded = load_tokenizer(make_bytes_tokenizer())
    vocab = canonicalize(loaded)
    e_in = np.asarray(model.get_input_embeddings())
    e_out = None if tied else np.asarray(model.get_output_embeddings())
    tables = fvt_init(SourceEmbeddings(vocab, e_in, e_out), vocab)
    protocol = ScoringProtocol(context_bytes=16, stride_bytes=8, batch_tokens=128)
    kw = dict(prefix_row=256, protocol=protocol, progress=False)
    original = evaluate_bpb(model, loaded.tokenizer, TEXTS, **kw)
    transferred = evaluate_bpb(
        model,
        loaded.tokenizer,
        TEXTS,
        input_embeddings=tables.input_embeddings,
        output_embeddings=tables.output_embeddings,
        **kw,
    )
    assert transferred.doc_bits == original.doc_bits  # bit for bit
    assert transferred.n_bytes == original.n_bytes == sum(len(t.encode()) for t in TEXTS)


def test_windows_wider_than_the_model_are_an_error(tiny):
    with pytest.raises(ValueError, match="lower context_bytes"):
        evaluate_bpb(
            tiny,
            make_bytes_tokenizer(),
            ["x" * 400],
            prefix_row=256,
            protocol=ScoringProtocol(context_bytes=200, stride_bytes=100),
            progress=False,
        )
