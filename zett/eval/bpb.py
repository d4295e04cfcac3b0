"""Bits per byte: total negative log-likelihood in bits over the UTF-8 bytes of the text."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class BpbResult:
    """nll_bits: summed over scored tokens; n_bytes: UTF-8 bytes of the texts; n_tokens: scored
    tokens."""

    nll_bits: float
    n_bytes: int
    n_tokens: int

    @property
    def bits_per_byte(self) -> float:
        return self.nll_bits / max(self.n_bytes, 1)

    @property
    def bytes_per_token(self) -> float:
        return self.n_bytes / max(self.n_tokens, 1)

    @property
    def perplexity(self) -> float:
        """Per-token perplexity (tokenizer-dependent: compare bits per byte across tokenizers)."""
        return 2.0 ** (self.nll_bits / max(self.n_tokens, 1))


def token_nll(
    logits: jax.Array, targets: jax.Array, weights: jax.Array, vocab_limit: int | None = None
) -> jax.Array:
    """logits [batch, seq, vocab], targets [batch, seq] (already shifted), weights [batch, seq] → Σ nll
    (nats).

    `vocab_limit`: only the first rows are the tokenizer's vocabulary; rows past it (a conditioning
    row appended for evaluation) are not predictable tokens and must not take probability mass."""
    if vocab_limit is not None:
        logits = logits[..., :vocab_limit]
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    picked = jnp.take_along_axis(logp, jnp.clip(targets, 0)[..., None], axis=-1)[..., 0]
    return -(picked * weights).sum()


def _bucket(n: int, buckets: Sequence[int]) -> int:
    for b in buckets:
        if n <= b:
            return b
    return n


def bits_per_byte(
    forward: Callable[[jax.Array, jax.Array], jax.Array],
    encode: Callable[[str], list[int]],
    texts: Sequence[str],
    prefix_id: int,
    pad_id: int = 0,
    max_len: int = 512,
    batch_size: int = 8,
    special_ids: Sequence[int] = (),
    progress: bool = True,
    vocab_limit: int | None = None,
) -> BpbResult:
    """Scores every token of every text (conditioned on `prefix_id`, e.g. BOS) and divides by bytes.

    `forward(input_ids [b, s], attention_mask [b, s]) -> logits [b, s, vocab]`; `encode(text)` must
    not add special tokens. Pad and special tokens are never scored. A text longer than `max_len`
    tokens is an error rather than a silent truncation (which would mis-count bytes)."""
    specials = np.asarray(sorted(set(special_ids)), np.int64)
    buckets = [b for b in (32, 64, 128, 256, 512, 1024, 2048, 4096) if b <= max_len + 1] + [
        max_len + 1
    ]

    nll = jax.jit(lambda logits, targets, weights: token_nll(logits, targets, weights, vocab_limit))

    def batch_nll(ids, mask, targets, weights):
        # `forward` is jitted by its owner (see `model_forward`); jitting it here again would bake
        # the model's weights into this graph as constants.
        return nll(forward(jnp.asarray(ids), jnp.asarray(mask)), targets, weights)

    encoded = []
    for text in texts:
        ids = encode(text)
        if len(ids) > max_len:
            raise ValueError(
                f"text of {len(ids)} tokens exceeds max_len={max_len}; split the text first"
            )
        encoded.append(ids)
    order = np.argsort([len(e) for e in encoded])
    total_nats, n_tokens = 0.0, 0
    for start in tqdm(
        range(0, len(order), batch_size), desc="bits/byte", disable=not progress, leave=False
    ):
        chunk = [encoded[i] for i in order[start : start + batch_size]]
        width = _bucket(max(len(c) for c in chunk) + 1, buckets)
        ids = np.full((batch_size, width), pad_id, np.int32)
        mask = np.zeros((batch_size, width), np.int32)
        weights = np.zeros((batch_size, width), np.float32)
        targets = np.zeros((batch_size, width), np.int32)
        for row, toks in enumerate(chunk):
            seq = [prefix_id] + list(toks)
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
            targets[row, : len(toks)] = toks
            w = np.ones(len(toks), np.float32)
            if specials.size:
                w[np.isin(np.asarray(toks), specials)] = 0.0
            weights[row, : len(toks)] = w
            n_tokens += int(w.sum())
        total_nats += float(batch_nll(ids, mask, targets, weights))
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    return BpbResult(nll_bits=total_nats / LOG2, n_bytes=n_bytes, n_tokens=n_tokens)


def model_forward(model, **overrides) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """Adapts a `zett.models.LanguageModel` (with optional embedding overrides) to `bits_per_byte`."""
    from flax import nnx

    graphdef, state = nnx.split(model)

    @jax.jit
    def forward(state, ids: jax.Array, mask: jax.Array, overrides) -> jax.Array:
        return nnx.merge(graphdef, state)(ids, attention_mask=mask, **overrides).logits

    return lambda ids, mask: forward(state, ids, mask, overrides)
