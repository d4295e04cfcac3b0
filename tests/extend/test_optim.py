"""Row-level optimiser masks: old rows frozen for N steps, new rows scaled, on a tiny zett decoder."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from zett.extend.init import InitSpec, make_init
from zett.extend.layout import VocabLayout
from zett.extend.masks import allowed_ids, masked_cross_entropy
from zett.extend.optim import vocab_row_schedule, with_row_schedule
from zett.models import decoder


def test_multiplier_and_freeze_on_a_plain_pytree():
    params = {"embed": jnp.ones((6, 3)), "dense": jnp.ones((6, 3)), "bias": jnp.ones((6,))}
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    new_rows = np.array([0, 0, 0, 0, 1, 1], bool)
    tx = with_row_schedule(
        optax.sgd(0.1), new_rows, freeze_old_steps=2, new_lr_multiplier=10.0, select="embed"
    )
    state = tx.init(params)
    for step in range(3):
        upd, state = tx.update(grads, state, params)
        emb = np.asarray(upd["embed"])
        np.testing.assert_allclose(emb[4:], -1.0)  # 10 × (-0.1)
        np.testing.assert_allclose(emb[:4], 0.0 if step < 2 else -0.1)
        np.testing.assert_allclose(np.asarray(upd["dense"]), -0.1)  # not selected: untouched
    with pytest.raises(ValueError, match="no parameter with 7 rows"):
        vocab_row_schedule(np.zeros(7, bool)).init(params)


def test_freeze_on_tiny_decoder():
    old_vocab, n_new = 256, 32
    model = decoder.MODEL_CLASS(
        decoder.tiny_config(tie_word_embeddings=False, num_hidden_layers=1), rngs=nnx.Rngs(0)
    )
    model.resize_vocab(old_vocab + n_new, init=make_init(InitSpec("average")))
    layout = VocabLayout.of(text=old_vocab, audio=n_new)
    new_rows = ~allowed_ids(layout, "text")
    tx = with_row_schedule(
        optax.adamw(1e-2, weight_decay=0.1), new_rows, freeze_old_steps=3, new_lr_multiplier=3.0
    )
    opt = nnx.Optimizer(model, tx, wrt=nnx.Param)
    rng = np.random.default_rng(0)
    # sequences mixing text and audio ids; the loss sees both tables' old and new rows
    ids = jnp.asarray(
        np.concatenate(
            [
                rng.integers(0, old_vocab, (4, 8)),
                rng.integers(old_vocab, old_vocab + n_new, (4, 8)),
            ],
            1,
        )
    )

    @nnx.jit
    def step(model, opt, ids):
        def loss_fn(m):
            logits = m(ids[:, :-1]).logits
            return masked_cross_entropy(logits, ids[:, 1:], jnp.ones(logits.shape[-1], bool))

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        return loss

    def snap():
        return {
            k: np.asarray(v)
            for k, v in [
                ("in", model.get_input_embeddings()),
                ("out", model.get_output_embeddings()),
                ("norm", model.norm.weight[...]),
            ]
        }

    start = snap()
    for _ in range(3):
        step(model, opt, ids)
        now = snap()
        for k in ("in", "out"):
            assert np.array_equal(now[k][:old_vocab], start[k][:old_vocab]), k  # exactly frozen
            assert not np.allclose(now[k][old_vocab:], start[k][old_vocab:]), k
    assert not np.array_equal(now["norm"], start["norm"])  # the rest of the model trains
    step(model, opt, ids)
    after = snap()
    for k in ("in", "out"):
        assert not np.array_equal(after[k][:old_vocab], start[k][:old_vocab]), (
            k
        )  # released after N steps


def test_masked_cross_entropy_and_logit_masks():
    layout = VocabLayout.of(text=5, audio=3)
    logits = jnp.asarray(np.random.default_rng(0).standard_normal((2, 4, 8)), jnp.float32)
    audio = allowed_ids(layout, "audio")
    labels = jnp.full((2, 4), 6)
    full = optax.softmax_cross_entropy_with_integer_labels(logits[..., 5:], labels - 5).mean()
    np.testing.assert_allclose(masked_cross_entropy(logits, labels, audio), full, rtol=1e-6)
    assert allowed_ids(layout, ["text"], vocab_size=10).tolist() == [True] * 5 + [False] * 5
    from zett.extend.masks import mask_logits, mask_logits_per_position, segment_masks

    picked = jnp.argmax(mask_logits(logits, audio), -1)
    assert ((picked >= 5) & (picked < 8)).all()
    seg = jnp.asarray([[0, 1, 0, 1], [1, 1, 0, 0]])
    per = jnp.argmax(mask_logits_per_position(logits, seg, segment_masks(layout)), -1)
    assert np.array_equal(np.asarray(per >= 5), np.asarray(seg == 1))
