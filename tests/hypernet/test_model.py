"""The hypernetwork module: shapes, pad masking, fallback ids, rescalers, and that it can learn."""

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Frozen, Hypernet, fit_output_rescalers


def _source(vocab=50, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(vocab, dim)) * 0.5 + 0.3).astype(np.float32)


def _hypernet(**kw):
    cfg = HypernetConfig(hidden_size=32, intermediate_size=64, num_layers=2, surface_maxlen=4, **kw)
    src_in = _source()
    src_out = _source(seed=1) if cfg.predict_output_embeddings else None
    return Hypernet(cfg, src_in, src_out, rngs=nnx.Rngs(0)), src_in


def test_shapes_and_heads():
    hn, _ = _hypernet(predict_output_embeddings=True, predict_bias=True)
    ids = jnp.array([[1, 2, 0, 0], [3, 0, 0, 0], [50 + 7, 4, 0, 0]])
    out = hn(ids, jnp.array([2, 1, 2]))
    assert out.input_embeddings.shape == (3, 16)
    assert out.output_embeddings.shape == (3, 16)
    assert out.bias.shape == (3,)
    assert np.all(np.isfinite(out.input_embeddings))


def test_padding_content_is_ignored():
    hn, _ = _hypernet()
    a = hn(jnp.array([[5, 6, 0, 0]]), jnp.array([2])).input_embeddings
    b = hn(jnp.array([[5, 6, 9, 13]]), jnp.array([2])).input_embeddings
    c = hn(jnp.array([[5, 6, 9, 13]]), jnp.array([3])).input_embeddings
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(a, c, atol=1e-4)


def test_fallback_ids_use_learned_rows():
    hn, _ = _hypernet()
    pieces = hn.embed_pieces(jnp.array([[50 + 3, 2]]))
    np.testing.assert_allclose(pieces[0, 0], hn.fallback[...][3])
    assert not np.allclose(pieces[0, 1], hn.fallback[...][2])


def test_source_tables_are_not_trainable():
    hn, _ = _hypernet()
    trainable = nnx.state(hn, nnx.Param)
    frozen = nnx.state(hn, Frozen)
    assert "source_table" not in trainable and "source_table" in frozen


def test_output_rescalers_match_anchor_statistics():
    hn, src = _hypernet()
    ids = np.zeros((50, 4), np.int32)
    ids[:, 0] = np.arange(50)
    fit_output_rescalers(hn, ids, np.ones(50, np.int32), src)
    pred = np.asarray(hn(jnp.asarray(ids), jnp.ones(50, jnp.int32)).input_embeddings)
    np.testing.assert_allclose(pred.mean(0), src.mean(0), atol=1e-4)
    np.testing.assert_allclose(pred.std(0), src.std(0), rtol=1e-3)


def test_identity_regression_learns():
    hn, src = _hypernet()
    ids = np.zeros((50, 4), np.int32)
    ids[:, 0] = np.arange(50)
    lengths = np.ones(50, np.int32)
    fit_output_rescalers(hn, ids, lengths, src)
    opt = nnx.Optimizer(hn, optax.adam(3e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt, ids, lengths, target):
        def loss_fn(m):
            return jnp.mean(jnp.square(m(ids, lengths).input_embeddings - target))

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        return loss

    losses = [
        float(step(hn, opt, jnp.asarray(ids), jnp.asarray(lengths), jnp.asarray(src)))
        for _ in range(150)
    ]
    assert losses[-1] < 0.2 * losses[0], (losses[0], losses[-1])
