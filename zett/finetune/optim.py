"""Per-phase optimisers: which parameters a phase trains, its learning-rate schedule, AdamW, and the
row freeze / learning-rate multiplier of new vocabulary rows (`zett.extend.optim`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from zett.extend.optim import vocab_row_schedule
from zett.finetune.config import OptimConfig, PhaseConfig

# a phase is shorter than this: "frozen for the whole phase"
_ALWAYS = 1 << 30


def is_vocab_param(path: tuple, value: Any) -> bool:
    """An `nnx.Param` whose first logical axis is "vocab": input embeddings, untied LM heads, the
    MLM output bias (every family names its tables' axes so)."""
    if not isinstance(value, nnx.Param):
        return False
    axes = value.get_metadata().get("out_sharding") or (None,)
    return axes[0] == "vocab"


def _key(path: str) -> str:
    # nnx.Optimizer hands optax `…['embed_tokens'].value` at init but `…['embed_tokens']` in updates
    return path.removesuffix(".value")


def vocab_param_keys(model: nnx.Module) -> frozenset[str]:
    """`jax.tree_util.keystr` of the vocabulary tables as the optimiser sees them."""
    state = nnx.state(model, is_vocab_param)
    leaves = jax.tree_util.tree_leaves_with_path(state)
    return frozenset(_key(jax.tree_util.keystr(p)) for p, _ in leaves)


def learning_rate(phase: PhaseConfig) -> optax.Schedule:
    """Linear warm-up that reaches `lr` at update `warmup_steps` (the first update already moves),
    then cosine decay to `lr * final_lr_fraction` at the phase's last update."""
    warm = max(phase.warmup_steps, 0)
    decay = max(phase.steps - warm, 1)
    final = phase.lr * phase.final_lr_fraction

    def schedule(count: jax.Array) -> jax.Array:
        count = jnp.asarray(count, jnp.float32)
        up = phase.lr * (count + 1) / max(warm, 1)
        t = jnp.clip((count - warm) / max(decay - 1, 1), 0.0, 1.0)
        down = final + (phase.lr - final) * 0.5 * (1 + jnp.cos(jnp.pi * t))
        return jnp.where(count < warm, up, down)

    return schedule


def lr_row(phase, info) -> dict[str, float]:
    """The learning rate of the update just made (a `LogMetrics` extra); `phase` is a
    `zett.finetune.phases.Phase`."""
    count = int(info.state.optimizer.step[...])
    return {"lr": float(learning_rate(phase.config)(max(count - 1, 0)))}


def decay_mask(params: Any) -> Any:
    """Weight decay only on matrices (no biases, norms)."""
    return jax.tree.map(lambda p: getattr(p, "ndim", 0) >= 2, params)


def phase_optimizer(
    phase: PhaseConfig,
    optim: OptimConfig,
    new_rows: np.ndarray | None = None,
    vocab_keys: frozenset[str] = frozenset(),
) -> optax.GradientTransformation:
    """Clip → AdamW (phase schedule) → row schedule of the vocabulary tables when the phase trains
    only the new rows or scales them; a non-finite step is skipped (the loop decides when to stop).
    """
    chain = [
        optax.clip_by_global_norm(optim.grad_clip_norm),
        optax.adamw(
            learning_rate(phase),
            b1=optim.b1,
            b2=optim.b2,
            eps=optim.eps,
            weight_decay=phase.weight_decay,
            mask=decay_mask,
        ),
    ]
    if phase.rows == "new" or phase.new_lr_multiplier != 1.0:
        if new_rows is None:
            raise ValueError(
                f"a phase with rows: {phase.rows} and new_lr_multiplier: "
                f"{phase.new_lr_multiplier} needs new_rows (id ranges or the old tokenizer)"
            )
        select: Callable[[str, Any], bool] = lambda path, leaf: _key(path) in vocab_keys  # noqa: E731
        chain.append(
            vocab_row_schedule(
                new_rows,
                freeze_old_steps=_ALWAYS if phase.rows == "new" else 0,
                new_lr_multiplier=phase.new_lr_multiplier,
                select=select,
            )
        )
    return optax.apply_if_finite(optax.chain(*chain), max_consecutive_errors=1 << 30)
