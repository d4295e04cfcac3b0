"""An optax transformation that freezes old vocabulary rows for N steps and scales new rows'
updates."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

# parameter paths that hold vocabulary rows (input embeddings, LM heads, MLM output bias)
DEFAULT_VOCAB_PATHS = r"(embed|lm_head|unembed|word_embeddings|wte|output_bias|vocab)"


class RowScheduleState(NamedTuple):
    count: jax.Array  # [] int32 steps taken


def vocab_row_schedule(
    new_rows: np.ndarray | jax.Array,
    freeze_old_steps: int = 0,
    new_lr_multiplier: float = 1.0,
    select: Callable[[str, Any], bool] | str = DEFAULT_VOCAB_PATHS,
) -> optax.GradientTransformation:
    """Row-level update masks for vocabulary tables; put it *last* in the chain.

    new_rows: bool [vocab], True for the rows added by the extension.
    For every selected leaf (first axis == vocab): updates of old rows are zeroed while
    `step < freeze_old_steps` (so weight decay and Adam moments cannot move them either), and
    updates of new rows are multiplied by `new_lr_multiplier` at every step.
    select: regex over `jax.tree_util.keystr(path)`, or `fn(path_str, leaf) -> bool`."""
    new_rows = jnp.asarray(new_rows, bool)
    if new_rows.ndim != 1:
        raise ValueError(f"new_rows must be a [vocab] bool mask, got shape {new_rows.shape}")
    vocab = int(new_rows.shape[0])
    if isinstance(select, str):
        pattern = re.compile(select)
        select_fn = lambda path, leaf: bool(pattern.search(path))  # noqa: E731
    else:
        select_fn = select

    def is_table(path: str, leaf: Any) -> bool:
        return (
            hasattr(leaf, "shape")
            and leaf.ndim >= 1
            and leaf.shape[0] == vocab
            and select_fn(path, leaf)
        )

    def init_fn(params: Any) -> RowScheduleState:
        n = sum(
            is_table(jax.tree_util.keystr(p), x)
            for p, x in jax.tree_util.tree_leaves_with_path(params)
        )
        if n == 0:
            raise ValueError(
                f"vocab_row_schedule: no parameter with {vocab} rows matches the selection; "
                f"leaves: {[jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)][:8]}"
            )
        return RowScheduleState(count=jnp.zeros([], jnp.int32))

    def update_fn(
        updates: Any, state: RowScheduleState, params: Any = None
    ) -> tuple[Any, RowScheduleState]:
        old_scale = jnp.where(state.count < freeze_old_steps, 0.0, 1.0)
        row_scale = jnp.where(new_rows, new_lr_multiplier, old_scale)  # [vocab]

        def scale(path, u):
            if not is_table(jax.tree_util.keystr(path), u):
                return u
            s = row_scale.reshape((vocab,) + (1,) * (u.ndim - 1)).astype(u.dtype)
            return jnp.where(
                s == 0, jnp.zeros_like(u), u * s
            )  # exact zeros even for inf/nan updates

        updates = jax.tree_util.tree_map_with_path(scale, updates)
        return updates, RowScheduleState(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


def with_row_schedule(
    inner: optax.GradientTransformation,
    new_rows: np.ndarray | jax.Array,
    freeze_old_steps: int = 0,
    new_lr_multiplier: float = 1.0,
    select: Callable[[str, Any], bool] | str = DEFAULT_VOCAB_PATHS,
) -> optax.GradientTransformation:
    """`inner` (e.g. `optax.adamw(1e-3)`) followed by `vocab_row_schedule`."""
    return optax.chain(
        inner, vocab_row_schedule(new_rows, freeze_old_steps, new_lr_multiplier, select)
    )
