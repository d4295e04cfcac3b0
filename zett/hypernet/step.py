"""Pure, jitted hypernetwork train/eval steps; the frozen base model is an argument, never
optimised."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from zett.hypernet.batch import Batch
from zett.hypernet.losses import aux_loss, lm_nll, predicted_tables
from zett.hypernet.model import Hypernet

LOG2 = math.log(2.0)


def _loss(hypernet: Hypernet, base_model, batch: Batch, aux_weight: float, identity: bool):
    e_in, e_out, bias = predicted_tables(hypernet, batch)
    aux = aux_loss(hypernet, e_in, e_out, batch)
    if identity:
        zero = jnp.zeros((), jnp.float32)
        return aux, {"aux_loss": aux, "lm_loss": zero, "nll_nats": zero, "n_targets": zero}
    nll, n = lm_nll(base_model, e_in, e_out, bias, batch)
    lm = nll / jnp.maximum(n, 1.0)
    return lm + aux_weight * aux, {"aux_loss": aux, "lm_loss": lm, "nll_nats": nll, "n_targets": n}


@nnx.jit(static_argnames=("identity",), donate_argnames=("hypernet", "optimizer"))
def train_step(
    hypernet: Hypernet,
    optimizer: nnx.Optimizer,
    base_model,
    batch: Batch,
    aux_weight: float = 0.5,
    identity: bool = False,
) -> dict[str, jax.Array]:
    """One update of the hypernetwork's `nnx.Param`s; returns scalar metrics.

    `identity=True` is the warm-up phase: regress onto the source rows of random source tokens."""
    grad_fn = nnx.value_and_grad(_loss, argnums=nnx.DiffState(0, nnx.Param), has_aux=True)
    (loss, metrics), grads = grad_fn(hypernet, base_model, batch, aux_weight, identity)
    optimizer.update(hypernet, grads)
    metrics = dict(metrics, loss=loss, grad_norm=optax.global_norm(grads))
    metrics["bits_per_byte"] = metrics["nll_nats"] / LOG2 / jnp.maximum(batch.n_bytes.sum(), 1)
    metrics["bytes_per_token"] = batch.n_bytes.sum() / jnp.maximum(batch.attention_mask.sum(), 1)
    metrics["skipped"] = ~jnp.isfinite(loss) | ~jnp.isfinite(metrics["grad_norm"])
    return metrics


@nnx.jit
def eval_step(hypernet: Hypernet, base_model, batch: Batch) -> dict[str, jax.Array]:
    loss, metrics = _loss(hypernet, base_model, batch, 0.0, False)
    metrics["bits_per_byte"] = metrics["nll_nats"] / LOG2 / jnp.maximum(batch.n_bytes.sum(), 1)
    return metrics
