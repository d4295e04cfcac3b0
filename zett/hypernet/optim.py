"""The optax chain for hypernetwork training, built from config."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import optax


@dataclass(frozen=True)
class OptimConfig:
    """Identity phase (warm-up to `identity_lr`), then a fresh warm-up to `lr` and cosine decay."""

    identity_steps: int = 10_000
    identity_warmup_steps: int = 1_000
    identity_lr: float = 3e-4
    lr: float = 6e-5
    warmup_steps: int = 10_000
    total_steps: int = 200_000
    final_lr_fraction: float = 0.1
    b1: float = 0.9
    b2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.01
    grad_clip_norm: float = 0.1
    max_consecutive_nonfinite: int = 10  # skipped steps in a row before training stops

    def __post_init__(self) -> None:
        if self.total_steps <= self.identity_steps:
            raise ValueError(
                f"total_steps={self.total_steps} must exceed identity_steps={self.identity_steps}"
            )


def learning_rate_schedule(cfg: OptimConfig) -> optax.Schedule:
    identity = optax.linear_schedule(0.0, cfg.identity_lr, max(cfg.identity_warmup_steps, 1))
    main_steps = cfg.total_steps - cfg.identity_steps
    main = optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=cfg.lr,
        warmup_steps=min(cfg.warmup_steps, main_steps - 1),
        decay_steps=main_steps,
        end_value=cfg.lr * cfg.final_lr_fraction,
    )
    if cfg.identity_steps == 0:
        return main
    return optax.join_schedules([identity, main], boundaries=[cfg.identity_steps])


def decay_mask(params) -> object:
    """Weight decay only on matrices: biases, norms and the per-dimension rescalers are exempt."""
    return jax.tree.map(lambda p: getattr(p, "ndim", 0) >= 2, params)


def make_optimizer(cfg: OptimConfig) -> optax.GradientTransformation:
    """Clip → AdamW; a step with non-finite gradients is skipped (the loop stops after too many)."""
    inner = optax.chain(
        optax.clip_by_global_norm(cfg.grad_clip_norm),
        optax.adamw(
            learning_rate_schedule(cfg),
            b1=cfg.b1,
            b2=cfg.b2,
            eps=cfg.eps,
            weight_decay=cfg.weight_decay,
            mask=decay_mask,
        ),
    )
    # max_consecutive_errors large: the loop (`zett.training.run_loop`) decides when to stop, with a
    # clear message
    return optax.apply_if_finite(inner, max_consecutive_errors=1 << 30)
