"""Hypernetwork losses: LM loss of the frozen base model under predicted embeddings, and the aux
loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from zett.hypernet.batch import Batch
from zett.hypernet.model import Hypernet

NEG_INF = -1e9


def predicted_tables(
    hypernet: Hypernet, batch: Batch
) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
    """Subset embeddings [subset, embed] (input, output or None when tied, bias or None).

    Special tokens are never predicted: their rows are copied from the source model."""
    pred = hypernet(
        batch.surface_ids, batch.surface_lengths, pack=batch.pack, language=batch.language
    )
    d = hypernet.embed_dim
    special = (batch.special_source_ids >= 0)[:, None]
    rows = hypernet.source_table[...][jnp.clip(batch.special_source_ids, 0)]  # [subset, source_dim]
    e_in = jnp.where(special, rows[:, :d], pred.input_embeddings)
    e_out = (
        None
        if pred.output_embeddings is None
        else jnp.where(special, rows[:, d:], pred.output_embeddings)
    )
    bias = pred.bias
    if bias is not None:
        bias = jnp.where(
            special[:, 0], hypernet.source_bias[...][jnp.clip(batch.special_source_ids, 0)], bias
        )
    return e_in, e_out, bias


def lm_nll(
    base_model,
    e_in: jax.Array,
    e_out: jax.Array | None,
    bias: jax.Array | None,
    batch: Batch,
):
    """Σ next-token (causal: labels[t+1] from position t) or masked-token (MLM: labels[t] at t) NLL in
    nats over labelled positions, and their count. Labels are −1 where there is no loss."""
    out_table = e_in if e_out is None else e_out
    logits = base_model(
        batch.input_ids,
        attention_mask=batch.attention_mask,
        input_embeddings=e_in.astype(base_model.config.dtype),
        output_embeddings=out_table.astype(base_model.config.dtype),
        output_bias=bias,
    ).logits.astype(jnp.float32)
    logits = jnp.where(batch.vocab_mask[None, None, :], logits, NEG_INF)
    labels = batch.labels
    if base_model.config.is_causal:  # labels are the tokens themselves: position t predicts t+1
        logits, labels = logits[:, :-1], labels[:, 1:]
    logp = jax.nn.log_softmax(logits, axis=-1)
    weights = (labels >= 0).astype(jnp.float32)
    picked = jnp.take_along_axis(logp, jnp.clip(labels, 0)[..., None], axis=-1)[..., 0]
    return -(picked * weights).sum(), weights.sum()


def aux_loss(
    hypernet: Hypernet, e_in: jax.Array, e_out: jax.Array | None, batch: Batch
) -> jax.Array:
    """For predicted tokens that exist verbatim in the source vocab: Σ‖ê − e‖² / count / mean‖e‖,
    averaged over the input and output tables."""
    table = hypernet.source_table[...]
    d = hypernet.embed_dim
    has = ((batch.source_ids >= 0) & (batch.special_source_ids < 0) & batch.vocab_mask).astype(
        jnp.float32
    )
    count = jnp.maximum(has.sum(), 1.0)
    true = table[jnp.clip(batch.source_ids, 0)]
    parts = [(e_in, true[:, :d], table[:, :d])]
    if e_out is not None:
        parts.append((e_out, true[:, d:], table[:, d:]))
    losses = []
    for pred, target, full in parts:
        sq = jnp.square(pred.astype(jnp.float32) - target).sum(-1)
        mean_norm = jnp.linalg.norm(full, axis=-1).mean()
        losses.append((sq * has).sum() / count / mean_norm)
    return sum(losses) / len(losses)
