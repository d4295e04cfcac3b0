"""HF `nn.Linear` attention weights ↔ zett's per-head einsum layouts, shared by every family's
weight rules (`<family>_hf.py`).

HF stores a projection as `[out, in]` with the heads flattened into one axis; zett keeps the heads
apart (`layers.py`: q/k/v `[embed, heads, head_dim]`, o `[heads, head_dim, embed]`). Each helper
returns the (to_zett, to_hf) pair a `WeightRule` takes. The reshapes use the config's sizes, so a
tensor whose shape does not fit raises (and `assign_weights` names it)."""

from __future__ import annotations

import numpy as np

from zett.models.weights import Transform


def heads_in(heads: int, head_dim: int, embed: int) -> tuple[Transform, Transform]:
    """q/k/v projection: HF [heads * head_dim, embed] ↔ [embed, heads, head_dim]."""
    return (
        lambda w: np.ascontiguousarray(w.reshape(heads, head_dim, embed).transpose(2, 0, 1)),
        lambda w: np.ascontiguousarray(w.transpose(1, 2, 0).reshape(heads * head_dim, embed)),
    )


def heads_out(heads: int, head_dim: int, embed: int) -> tuple[Transform, Transform]:
    """Output projection: HF [embed, heads * head_dim] ↔ [heads, head_dim, embed]."""
    return (
        lambda w: np.ascontiguousarray(w.reshape(embed, heads, head_dim).transpose(1, 2, 0)),
        lambda w: np.ascontiguousarray(w.transpose(2, 0, 1).reshape(embed, heads * head_dim)),
    )


def heads_bias(heads: int, head_dim: int) -> tuple[Transform, Transform]:
    """q/k/v bias: HF [heads * head_dim] ↔ [heads, head_dim]."""
    return (lambda b: b.reshape(heads, head_dim), lambda b: b.reshape(heads * head_dim))
