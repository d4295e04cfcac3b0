"""A fine-tuning step with a non-finite loss is skipped: nothing moves, and the next finite step
updates as if it had never happened."""

import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.finetune.batches import LMBatch
from zett.finetune.config import FullPhase, OptimConfig
from zett.finetune.optim import phase_optimizer
from zett.finetune.step import make_train_step
from zett.models import build_model
from zett.models.decoder import tiny_config
from zett.training import SKIPPED, StepInput, TrainState


def _batch(ids) -> StepInput:
    ids = jnp.asarray(ids, jnp.int32)
    return StepInput(LMBatch(ids, jnp.ones_like(ids), ids, jnp.ones(ids.shape[0], jnp.int32)))


def _params(model):
    state = nnx.state(model, nnx.Param).flat_state()
    return {".".join(map(str, k)): np.array(v.get_value()) for k, v in state}


def _state(poison: bool) -> TrainState:
    model = build_model(tiny_config(tie_word_embeddings=False), seed=0)
    if poison:  # token 5's input row is NaN: any sequence reading it has a NaN loss
        model.set_input_embeddings(model.get_input_embeddings().at[5].set(jnp.nan))
    tx = phase_optimizer(FullPhase(steps=10, lr=1e-2, warmup_steps=0), OptimConfig())
    return TrainState(model, nnx.Optimizer(model, tx, wrt=nnx.Param))


def test_nonfinite_step_is_skipped():
    step = make_train_step(nnx.Param, causal=True, chunk=16, donate=False)
    bad, good = _batch([[1, 5, 7, 9]]), _batch([[1, 6, 7, 9]])
    poisoned, clean = _state(True), _state(False)
    before = _params(poisoned.model)
    assert bool(step(poisoned, bad)[SKIPPED])
    after = _params(poisoned.model)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    # the next finite step is the first update: the same as on a model that never saw the NaN
    m = step(poisoned, good)
    ref = step(clean, good)
    assert not bool(m[SKIPPED]) and float(m["loss"]) == float(ref["loss"])
    got, want = _params(poisoned.model), _params(clean.model)
    for name in want:
        if name == "embed_tokens":
            got[name][5] = want[name][5] = 0  # the poisoned row stays NaN (no gradient reaches it)
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
