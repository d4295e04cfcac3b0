"""Jitted greedy decoding for smoke tests: any `LanguageModel`, full recompute per step (no KV
cache)."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx

from zett.models.api import LanguageModel


@partial(jax.jit, static_argnames=("graphdef", "max_new_tokens", "eos_token_id"))
def _generate(
    graphdef, state, input_ids, attention_mask, max_new_tokens: int, eos_token_id: int | None
):
    model = nnx.merge(graphdef, state)
    batch, prompt = input_ids.shape
    total = prompt + max_new_tokens
    ids = jnp.zeros((batch, total), input_ids.dtype).at[:, :prompt].set(input_ids)
    mask = jnp.zeros((batch, total), jnp.int32).at[:, :prompt].set(attention_mask.astype(jnp.int32))

    def cond(carry):
        i, _, _, done = carry
        return (i < total) & ~jnp.all(done)

    def step(carry):
        i, ids, mask, done = carry
        # Causal attention: positions < i never see the not-yet-written slots, whatever they hold.
        logits = model(ids, attention_mask=mask).logits
        nxt = jnp.argmax(
            jax.lax.dynamic_index_in_dim(logits, i - 1, axis=1, keepdims=False), axis=-1
        )
        nxt = nxt.astype(ids.dtype)
        if eos_token_id is not None:
            nxt = jnp.where(done, eos_token_id, nxt)
            done = done | (nxt == eos_token_id)
        ids = jax.lax.dynamic_update_index_in_dim(ids, nxt, i, axis=1)
        mask = jax.lax.dynamic_update_index_in_dim(mask, jnp.ones((batch,), jnp.int32), i, axis=1)
        return i + 1, ids, mask, done

    done = jnp.zeros((batch,), bool)
    i, ids, mask, done = jax.lax.while_loop(cond, step, (jnp.int32(prompt), ids, mask, done))
    if eos_token_id is not None:  # slots skipped by an early stop of the whole batch
        ids = jnp.where(jnp.arange(total)[None, :] < i, ids, eos_token_id)
    return ids


def generate_greedy(
    model: LanguageModel,
    input_ids: jax.Array,
    max_new_tokens: int,
    eos_token_id: int | None = None,
    attention_mask: jax.Array | None = None,
) -> jax.Array:
    """[batch, prompt] ids → [batch, prompt + max_new_tokens] with greedy continuations.

    Prompts may be left- or right-padded (`attention_mask` 1 = token): new tokens are appended after
    the last slot and positions are derived from the mask. After a row emits `eos_token_id`, its
    remaining slots hold `eos_token_id`; the loop stops when every row is done."""
    input_ids = jnp.asarray(input_ids)
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be [batch, prompt], got shape {input_ids.shape}")
    if attention_mask is None:
        attention_mask = jnp.ones(input_ids.shape, jnp.int32)
    graphdef, state = nnx.split(model)
    return _generate(
        graphdef, state, input_ids, jnp.asarray(attention_mask), max_new_tokens, eos_token_id
    )
