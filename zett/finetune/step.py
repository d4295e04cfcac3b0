"""Pure, jitted fine-tuning steps: one update of the parameters a phase trains (gradients are taken
only for those, so an embeddings-only step skips every weight gradient of the body)."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from zett.finetune.batches import LMBatch
from zett.finetune.loss import lm_loss
from zett.training import SKIPPED, StepInput, TrainState

LOG2 = math.log(2.0)
StepFn = Callable[[TrainState, StepInput], dict[str, jax.Array]]


def _metrics(loss, aux, grads, batch: LMBatch) -> dict[str, jax.Array]:
    grad_norm = optax.global_norm(grads)
    return {
        "loss": loss,
        "nll_nats": aux["nll_nats"],
        "n_targets": aux["n_targets"],
        "bits_per_byte": aux["nll_nats"] / LOG2 / jnp.maximum(batch.n_bytes.sum(), 1),
        "grad_norm": grad_norm,
        SKIPPED: ~jnp.isfinite(loss) | ~jnp.isfinite(grad_norm),
    }


def make_train_step(trainable, causal: bool, chunk: int | None, donate: bool = True) -> StepFn:
    """The loop's step function for a phase: `trainable` is the nnx filter of the parameters it
    updates (the optimiser must be built with the same `wrt`). `donate=False` when the model shares
    arrays with one that must stay valid (the bench probe)."""

    def update(model, optimizer, batch):
        grad_fn = nnx.value_and_grad(lm_loss, argnums=nnx.DiffState(0, trainable), has_aux=True)
        (loss, aux), grads = grad_fn(model, batch, causal, chunk)
        optimizer.update(model, grads)
        return _metrics(loss, aux, grads, batch)

    jitted = nnx.jit(update, donate_argnames=("model", "optimizer") if donate else ())

    def step(state: TrainState, item: StepInput) -> dict[str, jax.Array]:
        return jitted(state.model, state.optimizer, item.batch)

    return step


def make_eval_step(causal: bool, chunk: int | None) -> Callable[[nnx.Module, LMBatch], dict]:
    """(model, batch) → {"nll_nats", "n_targets"} without an update (held-out MLM loss)."""

    @nnx.jit
    def evaluate(model, batch):
        _, aux = lm_loss(model, batch, causal, chunk)
        return aux

    return evaluate
