"""Phases on the generic loop: each phase trains with its own optimiser from its first step to its
last; checkpoints hold the parameters and the optimiser of the phase that made them, so a run
resumes exactly mid-phase and across a phase boundary."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flax import nnx

from zett.finetune.config import PhaseConfig
from zett.training import (
    Checkpoint,
    Hook,
    LogMetrics,
    StepInfo,
    StepInput,
    TrainCheckpointer,
    TrainState,
    Validate,
    run_loop,
)


@dataclass(frozen=True)
class Phase:
    """Updates `start + 1 … end` of the run."""

    name: str
    config: PhaseConfig
    start: int
    end: int


def plan_phases(named: Sequence[tuple[str, PhaseConfig]]) -> list[Phase]:
    """Consecutive phases; those of 0 steps are skipped."""
    phases, step = [], 0
    for name, cfg in named:
        if cfg.steps > 0:
            phases.append(Phase(name, cfg, step, step + cfg.steps))
            step += cfg.steps
    if not phases:
        raise ValueError(f"every phase ({', '.join(n for n, _ in named)}) has 0 steps")
    return phases


# a phase's optimiser and step function, built on demand (the optimiser wraps the module in place)
MakePhase = Callable[[Phase], tuple[nnx.Optimizer, Callable[[TrainState, StepInput], Any]]]


def resume(
    ckpt: TrainCheckpointer, module: nnx.Module, phases: list[Phase], make: MakePhase
) -> tuple[int, int, tuple | None, dict | None]:
    """Restores the newest checkpoint into `module` → (step, index of the phase to run next, that
    phase's (optimiser, step fn) when it is mid-phase, else None, data state)."""
    step = ckpt.latest_step
    if step is None:
        return 0, 0, None, None
    index = next((i for i, p in enumerate(phases) if p.start < step <= p.end), None)
    if index is None:
        raise ValueError(
            f"{ckpt.directory}: its newest checkpoint is at step {step}, past the end of this "
            f"config's phases ({phases[-1].end} steps); use another workdir"
        )
    built = make(phases[index])
    _, data_state = ckpt.restore_latest(module, built[0])
    if step == phases[index].end:  # the boundary: the next phase starts with a fresh optimiser
        return step, index + 1, None, data_state
    return step, index, built, data_state


def run_phases(
    state_module: nnx.Module,
    phases: list[Phase],
    make: MakePhase,
    batches: Iterator[StepInput],
    hooks_for: Callable[[Phase, TrainState], list[Hook]],
    *,
    start: int,
    index: int,
    built: tuple | None,
    frozen: Any = None,
    max_steps: int | None = None,
    deadline: float | None = None,
    max_consecutive_nonfinite: int = 10,
    progress: bool = True,
) -> int:
    """Runs phases `index…` from step `start` (stopping at `max_steps` or `deadline`); returns the
    step reached."""
    for phase in phases[index:]:
        optimizer, step_fn = built if built is not None else make(phase)
        built = None
        total = phase.end if max_steps is None else min(phase.end, max_steps)
        if start >= total:
            return start
        state = TrainState(state_module, optimizer, frozen=frozen)
        start = run_loop(
            state,
            step_fn,
            batches,
            start=start,
            total=total,
            hooks=hooks_for(phase, state),
            max_consecutive_nonfinite=max_consecutive_nonfinite,
            deadline=deadline,
            progress=progress,
            desc=phase.name,
        )
        if start < phase.end or (deadline is not None and time.monotonic() > deadline):
            return start
    return start


def phase_hooks(
    phase: Phase,
    log,
    log_every: int,
    lr_row: Callable[[Phase, StepInfo], dict[str, float]],
    validate: Callable[[TrainState], dict[str, float]] | None,
    eval_every: int,
    ckpt: TrainCheckpointer,
    save_every: int,
    data_state: Callable[[], Any],
) -> tuple[LogMetrics, list[Hook]]:
    """One phase's hooks, the same for `zett finetune` and n-shot: metrics (with the phase's learning
    rate), validation (when `validate` is given) and the checkpoint. The metrics hook is returned
    too, for the caller to read its last row."""
    metrics = LogMetrics(log, log_every, extra=lambda info: lr_row(phase, info))
    hooks: list[Hook] = [metrics]
    if validate is not None:
        # at the phase ends and every eval_every steps; not where --max-steps stops a run,
        # so a resumed run logs what an uninterrupted one does
        at = lambda info: info.step % eval_every == 0 or info.step == phase.end  # noqa: E731
        hooks.append(Validate(log, eval_every, validate, when=at))
    hooks.append(Checkpoint(ckpt, save_every, data_state=data_state))
    return metrics, hooks
