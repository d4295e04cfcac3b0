"""Training checkpoints restore exactly; exported hypernet dirs round-trip (fitted rescalers included)
and refuse a wrong base model; the shipped v1 export loads and predicts as it did."""

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from hn_helpers import rescalers, set_rescalers  # path entry: tests/hypernet/conftest.py
from safetensors.numpy import load_file

from zett.hypernet.checkpoint import HYPERNET_WEIGHTS, load_hypernet, save_hypernet
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Hypernet, Rescaler
from zett.hypernet.predict import predict_surface
from zett.training import TrainCheckpointer

SHIPPED = Path(__file__).parents[2] / "experiments" / "smollm2" / "hypernet"
FIXTURE = Path(__file__).parent / "fixtures" / "shipped_v1_predictions.npz"

SRC = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
CFG = HypernetConfig(hidden_size=32, intermediate_size=32, num_layers=1, surface_maxlen=3)
IDS = jnp.asarray(np.random.default_rng(1).integers(0, 40, size=(6, 3)), jnp.int32)
LENGTHS = jnp.array([1, 2, 3, 1, 2, 3])


def _step(hn, opt):
    def loss_fn(m):
        return jnp.mean(jnp.square(m(IDS, LENGTHS).input_embeddings - 1.0))

    loss, grads = nnx.value_and_grad(loss_fn)(hn)
    opt.update(hn, grads)
    return float(loss)


def test_resume_continues_with_identical_losses(tmp_path):
    hn = Hypernet(CFG, SRC, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(hn, optax.adam(1e-2), wrt=nnx.Param)
    for _ in range(3):
        _step(hn, opt)
    ckpt = TrainCheckpointer(tmp_path)
    ckpt.save(3, hn, opt, {"epoch": 1, "offset": 17})
    uninterrupted = [_step(hn, opt) for _ in range(3)]

    hn2 = Hypernet(
        CFG, SRC, rngs=nnx.Rngs(5)
    )  # different init: everything must come from the checkpoint
    opt2 = nnx.Optimizer(hn2, optax.adam(1e-2), wrt=nnx.Param)
    step, data = TrainCheckpointer(tmp_path).restore_latest(hn2, opt2)
    assert step == 3 and data == {"epoch": 1, "offset": 17}
    resumed = [_step(hn2, opt2) for _ in range(3)]
    np.testing.assert_allclose(resumed, uninterrupted, rtol=0, atol=0)


def test_export_round_trip_and_wrong_base_model(tmp_path):
    hn = Hypernet(CFG, SRC, rngs=nnx.Rngs(0))
    out = save_hypernet(tmp_path / "hn", hn, base_model="tiny", source_tokenizer="tiny-tok")
    again = load_hypernet(out, SRC)
    np.testing.assert_array_equal(
        np.asarray(hn(IDS, LENGTHS).input_embeddings),
        np.asarray(again(IDS, LENGTHS).input_embeddings),
    )
    with pytest.raises(ValueError, match="differ from those of 'tiny'"):
        load_hypernet(out, SRC + 1.0)
    with pytest.raises(ValueError, match="expects source embeddings"):
        load_hypernet(out, SRC[:30])
    with pytest.raises(FileNotFoundError, match="not a zett hypernet"):
        load_hypernet(tmp_path, SRC)


def test_export_carries_the_rescalers(tmp_path):
    hn = Hypernet(CFG, SRC, rngs=nnx.Rngs(0))
    set_values = set_rescalers(hn, 4)
    out = save_hypernet(tmp_path / "hn", hn, base_model="tiny", source_tokenizer="tiny")
    stored = load_file(str(out / HYPERNET_WEIGHTS))
    again = load_hypernet(out, SRC)
    for name, value in set_values.items():
        np.testing.assert_array_equal(stored[name], value)
        np.testing.assert_array_equal(rescalers(again)[name], value)


def test_shipped_v1_export_loads_and_predicts_as_before():
    from zett.models import load_pretrained
    from zett.tokenization import Decomposer, load_tokenizer

    model = load_pretrained("smollm2")
    hn = load_hypernet(SHIPPED, np.asarray(model.get_input_embeddings()))
    stored = load_file(str(SHIPPED / HYPERNET_WEIGHTS))
    # its rescalers were saved as parameters: they come back as the frozen kind, same values
    for name in ("out_scale_in", "out_shift_in"):
        assert isinstance(getattr(hn, name), Rescaler)
        np.testing.assert_array_equal(np.asarray(getattr(hn, name)[...]), stored[name])
    recorded = np.load(FIXTURE)
    dec = Decomposer(load_tokenizer("smollm2"), maxlen=hn.cfg.surface_maxlen)
    forms = dec([str(t) for t in recorded["tokens"]])
    # the padded layout the fixture was recorded with; packing only reorders float sums
    # (tests/hypernet/test_packing.py bounds that difference)
    e, _, _ = predict_surface(hn, forms.ids, forms.lengths, progress=False, pack_width=0)
    np.testing.assert_array_equal(np.asarray(e, np.float32), recorded["input_embeddings"])
