"""The language-model loss of a fine-tuning step, with the output layer's cross-entropy computed in
chunks of positions: the [positions, vocab] logits never exist at once, and the backward pass
recomputes each chunk's logits instead of keeping them (a 262k vocabulary would otherwise hold
positions × 262k floats twice). Chunks cost a second logits matmul in the backward pass, so the
default chunk is as large as a fixed memory budget allows: the whole batch at once whenever its
float32 logits fit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from zett.finetune.batches import LMBatch
from zett.models import LanguageModel

LOGITS_BUDGET_BYTES = 256 * 2**20  # float32 logits one chunk may hold (the default chunk)


def default_chunk(vocab_size: int) -> int:
    """Positions per chunk whose [chunk, vocab] float32 logits fit `LOGITS_BUDGET_BYTES`."""
    return max(1, LOGITS_BUDGET_BYTES // (4 * vocab_size))


def chunked_nll(
    model: LanguageModel, hidden: jax.Array, labels: jax.Array, chunk: int | None
) -> tuple[jax.Array, jax.Array]:
    """hidden [n, embed], labels [n] (−1 = no loss) → (Σ NLL in nats, number of labels).

    Logits come from the model's own head (`logits_from_hidden`: tied or untied table, MLM
    transform and bias, soft-capping), `chunk` positions at a time (≤ 0 or ≥ n: all at once;
    None: `default_chunk` of the model's vocabulary)."""
    n, e = hidden.shape
    if chunk is None:
        chunk = default_chunk(model.vocab_size)
    if chunk <= 0 or chunk >= n:  # one pass over all positions, logits kept for the backward pass
        logits = model.logits_from_hidden(hidden[None])[0].astype(jnp.float32)
        lse = jax.nn.logsumexp(logits, axis=-1)
        picked = jnp.take_along_axis(logits, jnp.clip(labels, 0)[:, None], axis=-1)[:, 0]
        return jnp.where(labels >= 0, lse - picked, 0.0).sum(), (labels >= 0).sum().astype(
            jnp.float32
        )
    pad = (-n) % chunk
    hidden = jnp.pad(hidden, ((0, pad), (0, 0)))
    labels = jnp.pad(labels, (0, pad), constant_values=-1)
    graphdef, state = nnx.split(model)

    @jax.checkpoint
    def one(state, h, y):
        logits = nnx.merge(graphdef, state).logits_from_hidden(h[None])[0].astype(jnp.float32)
        lse = jax.nn.logsumexp(logits, axis=-1)
        picked = jnp.take_along_axis(logits, jnp.clip(y, 0)[:, None], axis=-1)[:, 0]
        return jnp.where(y >= 0, lse - picked, 0.0).sum()

    def body(total, xs):
        return total + one(state, *xs), None

    total, _ = jax.lax.scan(
        body,
        jnp.zeros((), jnp.float32),
        (hidden.reshape(-1, chunk, e), labels.reshape(-1, chunk)),
    )
    return total, (labels >= 0).sum().astype(jnp.float32)


def lm_loss(
    model: LanguageModel, batch: LMBatch, causal: bool, chunk: int | None
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean NLL per labelled token, and the metrics of the batch."""
    embeds = model.embed(batch.input_ids)
    hidden, _ = model.encode(embeds, batch.attention_mask)
    labels = batch.labels
    if causal:  # position t predicts token t + 1
        hidden, labels = hidden[:, :-1], labels[:, 1:]
    nll, count = chunked_nll(model, hidden.reshape(-1, hidden.shape[-1]), labels.reshape(-1), chunk)
    loss = nll / jnp.maximum(count, 1.0)
    return loss, {"nll_nats": nll, "n_targets": count}
