"""The jitted train step on a tiny decoder: losses fall, the base model and the fitted output rescalers
never change, NaNs skip."""

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hn_helpers import rescalers, set_rescalers  # path entry: tests/hypernet/conftest.py

from zett.hypernet.config import HypernetConfig
from zett.hypernet.losses import predicted_tables
from zett.hypernet.model import Hypernet
from zett.hypernet.optim import OptimConfig, make_optimizer
from zett.hypernet.step import eval_step, train_step
from zett.models import decoder
from zett.sampling import Batch

SRC_VOCAB, SUBSET, MAXLEN = 128, 24, 3


def _setup(tied=True, train_rescalers=False):
    cfg = decoder.tiny_config(vocab_size=SRC_VOCAB, tie_word_embeddings=tied)
    base = decoder.MODEL_CLASS(cfg, rngs=nnx.Rngs(0))
    src_in = np.asarray(base.get_input_embeddings())
    src_out = None if tied else np.asarray(base.get_output_embeddings())
    hcfg = HypernetConfig(
        hidden_size=32,
        intermediate_size=64,
        num_layers=1,
        surface_maxlen=MAXLEN,
        predict_output_embeddings=not tied,
        train_rescalers=train_rescalers,
    )
    hn = Hypernet(hcfg, src_in, src_out, rngs=nnx.Rngs(1))
    opt = nnx.Optimizer(
        hn,
        make_optimizer(
            OptimConfig(
                identity_steps=5,
                identity_warmup_steps=1,
                lr=3e-3,
                warmup_steps=1,
                total_steps=400,
                grad_clip_norm=1.0,
            )
        ),
        wrt=nnx.Param,
    )
    return base, hn, opt


def _lm_batch(seed=0):
    rng = np.random.default_rng(seed)
    surface = rng.integers(0, SRC_VOCAB, size=(SUBSET, MAXLEN)).astype(np.int32)
    lengths = rng.integers(1, MAXLEN + 1, size=(SUBSET,)).astype(np.int32)
    special = np.full((SUBSET,), -1, np.int32)
    special[0] = 0  # row 0 is the BOS special, copied from the source
    source_ids = np.where(lengths == 1, surface[:, 0], -1).astype(np.int32)
    ids = rng.integers(1, SUBSET, size=(4, 16)).astype(np.int32)
    ids[:, 0] = 0
    mask = np.ones_like(ids)
    mask[1, 12:] = 0
    labels = np.where(mask == 1, ids, -1).astype(np.int32)  # causal: the step shifts
    return Batch(
        ids,
        mask,
        labels,
        surface,
        lengths,
        special,
        source_ids,
        np.ones(SUBSET, bool),
        np.full((4,), 40, np.int32),
    )


@pytest.mark.parametrize("tied", [True, False])
def test_losses_fall_and_base_model_is_frozen(tied):
    base, hn, opt = _setup(tied)
    before = jax.tree.map(np.asarray, nnx.state(base, nnx.Param))
    ident = Batch.identity(np.arange(1, SRC_VOCAB, dtype=np.int32)[:SUBSET], MAXLEN)
    first = float(train_step(hn, opt, base, ident, identity=True)["loss"])
    for _ in range(4):
        last = float(train_step(hn, opt, base, ident, identity=True)["loss"])
    assert last < first
    batch = _lm_batch()
    m0 = {k: float(v) for k, v in eval_step(hn, base, batch).items()}
    for _ in range(60):
        m = train_step(hn, opt, base, batch)
    m1 = {k: float(v) for k, v in eval_step(hn, base, batch).items()}
    assert m1["lm_loss"] < 0.7 * m0["lm_loss"], (m0, m1)
    assert m1["n_targets"] == 4 * 15 - 4  # pads and the final position carry no label
    assert np.isfinite(float(m["bits_per_byte"])) and float(m["grad_norm"]) > 0
    after = jax.tree.map(np.asarray, nnx.state(base, nnx.Param))
    jax.tree.map(np.testing.assert_array_equal, before, after)


def test_special_rows_are_copied_not_predicted():
    base, hn, _ = _setup()
    batch = _lm_batch()
    e_in, _, _ = predicted_tables(hn, batch)
    np.testing.assert_array_equal(np.asarray(e_in[0]), np.asarray(base.get_input_embeddings()[0]))


def test_nonfinite_step_is_skipped():
    base, hn, opt = _setup()
    batch = _lm_batch()
    params = jax.tree.map(np.asarray, nnx.state(hn, nnx.Param))
    hn.fallback[...] = hn.fallback[...].at[0, 0].set(jnp.nan)
    surface_ids, surface_lengths = batch.surface_ids.copy(), batch.surface_lengths.copy()
    surface_ids[3, :] = SRC_VOCAB  # fallback row 0 → NaN loss
    surface_lengths[3] = 1
    batch = replace(batch, surface_ids=surface_ids, surface_lengths=surface_lengths)
    m = train_step(hn, opt, base, batch)
    assert bool(m["skipped"])
    after = jax.tree.map(np.asarray, nnx.state(hn, nnx.Param))
    np.testing.assert_array_equal(
        np.asarray(after["blocks"][0]["qkv"]["kernel"][...]),
        np.asarray(params["blocks"][0]["qkv"]["kernel"][...]),
    )


@pytest.mark.parametrize("tied", [True, False])
def test_train_steps_leave_the_rescalers_as_fitted(tied):
    base, hn, opt = _setup(tied)
    set_values = set_rescalers(hn, 3)
    assert len(set_values) == (2 if tied else 4)
    kernel = np.asarray(hn.head_in.kernel[...]).copy()
    ident = Batch.identity(np.arange(1, SRC_VOCAB, dtype=np.int32)[:SUBSET], MAXLEN)
    for _ in range(3):
        train_step(hn, opt, base, ident, identity=True)
    for _ in range(3):
        train_step(hn, opt, base, _lm_batch())
    after = rescalers(hn)
    for name, value in set_values.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    # the head itself did train: the rescalers' constancy is not a step that did nothing
    assert np.abs(np.asarray(hn.head_in.kernel[...]) - kernel).max() > 0


def test_v1_behaviour_trains_the_rescalers():
    """`train_rescalers=True` (v1's bug, kept for the ablation) does move them: the test above can
    fail."""
    base, hn, opt = _setup(train_rescalers=True)
    before = np.asarray(hn.out_scale_in[...]).copy()
    for _ in range(3):
        train_step(hn, opt, base, _lm_batch())
    assert np.abs(np.asarray(hn.out_scale_in[...]) - before).max() > 0
