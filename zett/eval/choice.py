"""Log-likelihood multiple choice: score N continuations of a context, pick by total or per-byte
log-likelihood."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Choice:
    """scores: [n_choices] summed log-likelihood (nats) of each continuation; n_bytes: its UTF-8
    bytes."""

    scores: np.ndarray
    n_bytes: np.ndarray

    @property
    def best(self) -> int:
        return int(np.argmax(self.scores))

    @property
    def best_normalised(self) -> int:
        """Per-byte normalisation, so long continuations are not penalised for their length."""
        return int(np.argmax(self.scores / np.maximum(self.n_bytes, 1)))


def continuation_loglik(
    forward: Callable,
    prefix_ids: Sequence[int],
    context_ids: Sequence[int],
    cont_ids: Sequence[int],
) -> float:
    """Σ log p(cont | prefix + context) in nats; `forward(ids[1, seq], mask[1, seq])` → logits [1, seq,
    vocab]."""
    import jax
    import jax.numpy as jnp

    if not cont_ids:
        raise ValueError("empty continuation: it has no tokens to score")
    ids = list(prefix_ids) + list(context_ids) + list(cont_ids)
    arr = jnp.asarray([ids], dtype=jnp.int32)
    logits = forward(arr, jnp.ones_like(arr))
    logp = jax.nn.log_softmax(logits[0, :-1].astype(jnp.float32), axis=-1)
    start = len(ids) - len(cont_ids) - 1
    targets = jnp.asarray(ids[1:], dtype=jnp.int32)[start:]
    return float(jnp.take_along_axis(logp[start:], targets[:, None], axis=-1).sum())


def choose(
    model,
    tokenizer,
    context: str,
    continuations: Sequence[str],
    prefix_ids: Sequence[int] = (),
    forward: Callable | None = None,
) -> Choice:
    """Scores each continuation after `context`; the split is made in text, so every continuation is
    tokenised on its own after the context's tokens (the usual lm-eval-harness convention)."""
    from zett.eval.bpb import model_forward

    forward = forward or model_forward(model)
    encode = lambda t: tokenizer.encode(t, add_special_tokens=False).ids  # noqa: E731
    ctx = encode(context)
    if not ctx and not prefix_ids:
        raise ValueError(
            "empty context and no prefix ids: the first continuation token has nothing to "
            "condition on"
        )
    scores = [continuation_loglik(forward, prefix_ids, ctx, encode(c)) for c in continuations]
    return Choice(np.asarray(scores), np.asarray([len(c.encode("utf-8")) for c in continuations]))
