"""Bits per byte under the scoring protocol (`zett.eval.protocol`): windows of byte-defined context,
scored by any `score_fn`, summed per document."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from zett.eval.protocol import (
    DEFAULT_PROTOCOL,
    ScoringProtocol,
    TokenizedDoc,
    Window,
    plan_windows,
    tokenize_documents,
)

LOG2 = math.log(2.0)

# score_fn(ids [b, w], mask [b, w], targets [b, w], weights [b, w]) -> Σ_w nll [b] (nats), where
# position j of a row predicts targets[j] (the row's token j + 1)
ScoreFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], jax.Array]


@dataclass(frozen=True)
class BpbResult:
    """nll_bits: summed over all scored tokens; n_bytes: UTF-8 bytes of the texts; n_tokens: scored
    tokens; unk_bytes / special_bytes / dropped_bytes: bytes covered by `<unk>`, by other special
    tokens, by no token (dropped whitespace) — all included in n_bytes; doc_bits / doc_bytes: per
    text, for paired bootstrap intervals."""

    nll_bits: float
    n_bytes: int
    n_tokens: int
    unk_bytes: int = 0
    special_bytes: int = 0
    dropped_bytes: int = 0
    doc_bits: tuple[float, ...] = ()
    doc_bytes: tuple[int, ...] = ()

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
    """logits [..., vocab], targets [...], weights [...] → weighted nll [...] (nats).

    `vocab_limit`: only the first rows are the tokenizer's vocabulary; rows past it (the appended
    conditioning row) are not predictable tokens and must not take probability mass."""
    if vocab_limit is not None:
        logits = logits[..., :vocab_limit]
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    picked = jnp.take_along_axis(logp, jnp.clip(targets, 0)[..., None], axis=-1)[..., 0]
    return -picked * weights


def logits_scorer(
    forward: Callable[[jax.Array, jax.Array], jax.Array], vocab_limit: int | None = None
) -> ScoreFn:
    """A ScoreFn from `forward(ids [b, s], mask [b, s]) -> logits [b, s, vocab]` (jitted by its
    owner: jitting it here again would bake a model's weights into this graph as constants)."""
    nll = jax.jit(lambda lg, t, w: token_nll(lg, t, w, vocab_limit).sum(-1))
    return lambda ids, mask, t, w: nll(forward(jnp.asarray(ids), jnp.asarray(mask)), t, w)


def _buckets(protocol: ScoringProtocol) -> list[int]:
    """Window widths in tokens: powers of two and their midpoints (≤ 1/3 padding), up to the widest
    window a byte-level tokenizer needs (C + S + 1 positions, rounded up to 64)."""
    cap = -(-(protocol.context_bytes + protocol.stride_bytes + 1) // 64) * 64
    sizes = sorted({w for i in range(5, 20) for w in (2**i, 3 * 2 ** (i - 1))})
    return [b for b in sizes if b < cap] + [cap]


def _width(n: int, buckets: list[int]) -> int:
    for b in buckets:
        if n <= b:
            return b
    return -(-n // 64) * 64  # zero-width tokens can overfill a window: one more shape


def score_documents(
    score_fn: ScoreFn,
    docs: Sequence[TokenizedDoc],
    prefix_id: int,
    protocol: ScoringProtocol = DEFAULT_PROTOCOL,
    pad_id: int | None = None,
    progress: bool = True,
    max_positions: int | None = None,
) -> np.ndarray:
    """[n_docs] Σ nll (nats) of every token of every document, each scored once in its window
    (a window wider than `max_positions` is an error)."""
    pad_id = prefix_id if pad_id is None else pad_id
    windows = plan_windows(list(docs), protocol)
    widest = max((w.length + 1 for w in windows), default=0)
    if max_positions is not None and widest > max_positions:
        raise ValueError(
            f"a window of {protocol.context_bytes} + {protocol.stride_bytes} bytes takes {widest} "
            f"positions under this tokenizer; the model has {max_positions}: lower "
            "context_bytes/stride_bytes"
        )
    buckets = _buckets(protocol)
    by_width: dict[int, list[Window]] = {}
    for w in windows:
        by_width.setdefault(_width(w.length + 1, buckets), []).append(w)
    batches = []
    for width, ws in sorted(by_width.items()):
        rows = max(1, protocol.batch_tokens // width)
        for i in range(0, len(ws), rows):
            chunk = ws[i : i + rows]
            # a last, partial batch shrinks to a power of two: few shapes, little padding
            batches.append((width, min(rows, 1 << (len(chunk) - 1).bit_length()), chunk))
    nats = np.zeros(len(docs), np.float64)
    for width, rows, chunk in tqdm(batches, desc="bits/byte", disable=not progress, leave=False):
        ids = np.full((rows, width), pad_id, np.int32)
        mask = np.zeros((rows, width), np.int32)
        targets = np.zeros((rows, width), np.int32)
        weights = np.zeros((rows, width), np.float32)
        for r, w in enumerate(chunk):
            toks = docs[w.doc].ids[w.context : w.end]
            n_ctx = w.start - w.context
            ids[r, 0] = prefix_id
            ids[r, 1 : len(toks) + 1] = toks
            mask[r, : len(toks) + 1] = 1
            targets[r, : len(toks)] = toks
            weights[r, n_ctx : len(toks)] = 1.0
        row_nats = np.asarray(score_fn(ids, mask, targets, weights), np.float64)
        for r, w in enumerate(chunk):
            nats[w.doc] += row_nats[r]
    return nats


def bits_per_byte(
    score_fn: ScoreFn,
    tokenizer,
    texts: Sequence[str],
    prefix_id: int,
    protocol: ScoringProtocol = DEFAULT_PROTOCOL,
    unk_id: int | None = None,
    special_ids: Sequence[int] = (),
    pad_id: int | None = None,
    progress: bool = True,
    max_positions: int | None = None,
) -> BpbResult:
    """Bits per byte of `texts` read through `tokenizer` (a `tokenizers.Tokenizer`), every window
    conditioned on `prefix_id` (see `zett.eval.protocol`). `unk_id` / `special_ids` only label
    tokens for the byte counts: every token is scored."""
    docs = tokenize_documents(tokenizer, list(texts), unk_id, tuple(special_ids))
    nats = score_documents(score_fn, docs, prefix_id, protocol, pad_id, progress, max_positions)
    bits = nats / LOG2
    return BpbResult(
        nll_bits=float(bits.sum()),
        n_bytes=sum(d.n_bytes for d in docs),
        n_tokens=sum(len(d.ids) for d in docs),
        unk_bytes=sum(d.unk_bytes for d in docs),
        special_bytes=sum(d.special_bytes for d in docs),
        dropped_bytes=sum(d.dropped_bytes for d in docs),
        doc_bits=tuple(float(b) for b in bits),
        doc_bytes=tuple(d.n_bytes for d in docs),
    )


def model_forward(model, **overrides) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """`forward(ids, mask) -> logits` of a `zett.models.LanguageModel` (with optional embedding
    overrides), jitted once."""
    from flax import nnx

    graphdef, state = nnx.split(model)

    @jax.jit
    def forward(state, ids: jax.Array, mask: jax.Array, overrides) -> jax.Array:
        return nnx.merge(graphdef, state)(ids, attention_mask=mask, **overrides).logits

    return lambda ids, mask: forward(state, ids, mask, overrides)
