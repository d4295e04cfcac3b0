"""Logit masks per modality: restrict the loss and constrained decoding to a layout's segments."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from zett.extend.layout import VocabLayout


def allowed_ids(
    layout: VocabLayout, names: Sequence[str] | str, vocab_size: int | None = None
) -> np.ndarray:
    """Bool [vocab] that is True exactly on the ids of segments `names` (half-open ranges).

    `vocab_size` may exceed `layout.size` (padded logits); the extra ids are never allowed."""
    names = [names] if isinstance(names, str) else list(names)
    n = layout.size if vocab_size is None else vocab_size
    if n < layout.size:
        raise ValueError(f"vocab_size {n} is smaller than the layout ({layout.size} ids)")
    out = np.zeros(n, bool)
    for name in names:
        r = layout[name]
        out[r.lo : r.hi] = True
    return out


def segment_masks(layout: VocabLayout, vocab_size: int | None = None) -> np.ndarray:
    """Bool [n_segments, vocab]: row k allows the ids of `layout.segments[k]`."""
    return np.stack([allowed_ids(layout, s.name, vocab_size) for s in layout.segments])


def mask_logits(logits: jax.Array, allowed: jax.Array) -> jax.Array:
    """logits [..., vocab] with disallowed ids set to the dtype's lowest value (not -inf, so a softmax
    over an all-masked row stays finite). `allowed` broadcasts against logits: [vocab] or [...,
    vocab]."""
    return jnp.where(allowed, logits, jnp.finfo(logits.dtype).min)


def mask_logits_per_position(logits: jax.Array, segment: jax.Array, masks: jax.Array) -> jax.Array:
    """logits [batch, seq, vocab]; segment [batch, seq] index of the modality each next token must
    come from (into `masks` [n_segments, vocab] from `segment_masks`)."""
    return mask_logits(logits, jnp.asarray(masks)[segment])


def masked_cross_entropy(
    logits: jax.Array, labels: jax.Array, allowed: jax.Array, weights: jax.Array | None = None
) -> jax.Array:
    """Mean cross-entropy [] of `labels` [...] under softmax over the allowed ids only.

    A label outside `allowed` gets a huge loss (about -finfo.min) rather than an error inside jit;
    validate labels beforehand with `VocabLayout.check(labels, name)`."""
    ce = optax.softmax_cross_entropy_with_integer_labels(
        mask_logits(logits.astype(jnp.float32), allowed), labels
    )
    if weights is None:
        return ce.mean()
    w = weights.astype(ce.dtype)
    return (ce * w).sum() / jnp.maximum(w.sum(), 1.0)
