"""The training loop driver: batches in, one jitted update per batch, hooks after every update.

The loop knows nothing of what is trained. The caller brings the train state, a step function and a
batch iterator; everything that happens every N steps (metrics, validation, checkpoints) is a hook.
The loop itself owns only what every run needs the same way: timing, the progress bar, skipping
non-finite updates (and stopping after too many in a row) and the wall-time limit."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import jax
from flax import nnx
from tqdm.auto import tqdm

S = TypeVar("S")

SKIPPED = "skipped"  # the step's metric that is true when the update was not applied (non-finite)


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. too many non-finite steps in a row); the last good checkpoint is
    kept."""


@dataclass
class TrainState:
    """What a loop trains: `model`'s `nnx.Param`s through `optimizer`; `frozen` is read by the step and
    never updated (the base model of a hypernetwork; None when the model trains alone)."""

    model: nnx.Module
    optimizer: nnx.Optimizer
    frozen: Any = None


@dataclass(frozen=True)
class StepInput:
    """One item of the batch iterator: the step function's batch, already on the device mesh."""

    batch: Any
    phase: str = (
        "main"  # e.g. hypernet "identity" warm-up / "main"; logged, and hooks may filter on it
    )
    tokens: int = 0  # real text tokens this process contributed (throughput)


@dataclass
class StepInfo(Generic[S]):
    """What the hooks see after each applied update."""

    step: int  # updates made so far, restored ones included (1 after the run's first update)
    total: int  # the step this run ends at
    phase: str
    metrics: dict[str, float]  # this update's scalars, on the host
    state: S
    data_s: float  # seconds spent waiting for batches since the previous hook call
    step_s: float  # seconds spent in the step function since the previous hook call
    tokens: int  # tokens of those batches (this process's share)
    stopping: bool  # the loop ends after this update (the last step, or the time limit)
    show: Callable[..., None] = field(repr=False, default=lambda **_: None)  # progress-bar postfix

    @property
    def last(self) -> bool:
        """The scheduled end of this run (its step count, not a time limit)."""
        return self.step == self.total


Hook = Callable[[StepInfo], None]
StepFn = Callable[[S, StepInput], Mapping[str, jax.Array]]


def run_loop(
    state: S,
    step_fn: StepFn,
    batches: Iterator[StepInput],
    *,
    start: int,
    total: int,
    hooks: Sequence[Hook] = (),
    max_consecutive_nonfinite: int = 10,
    deadline: float | None = None,
    progress: bool = True,
    desc: str = "train",
) -> int:
    """Runs updates `start + 1 … total`; returns the step reached (< total when the time limit hit).

    `step_fn(state, item)` makes one update in place and returns scalar metrics, including `SKIPPED`
    (the update was not applied because the loss or gradients were not finite; `optax.apply_if_finite`
    leaves the parameters as they were). Skipped updates reach no hook; `max_consecutive_nonfinite` of
    them in a row raise `TrainingError`. `deadline` (a `time.monotonic()` value): the update that
    passes it is the last one, its hooks see `stopping` (checkpoint hooks save on it)."""
    nonfinite = 0
    data_s = step_s = 0.0
    tokens = 0
    bar = tqdm(range(start, total), initial=start, total=total, desc=desc, disable=not progress)
    for step in bar:
        t0 = time.perf_counter()
        item = next(batches)
        t1 = time.perf_counter()
        metrics = {k: float(v) for k, v in jax.device_get(step_fn(state, item)).items()}
        data_s += t1 - t0
        step_s += time.perf_counter() - t1
        tokens += item.tokens
        if metrics.pop(SKIPPED):
            nonfinite += 1
            if nonfinite >= max_consecutive_nonfinite:
                raise TrainingError(
                    f"{nonfinite} non-finite updates in a row (steps {step + 2 - nonfinite}-"
                    f"{step + 1}: the loss or the gradients were NaN or infinite); stopped."
                )
            continue
        nonfinite = 0
        done = step + 1
        out_of_time = deadline is not None and time.monotonic() > deadline
        info = StepInfo(
            step=done,
            total=total,
            phase=item.phase,
            metrics=metrics,
            state=state,
            data_s=data_s,
            step_s=step_s,
            tokens=tokens,
            stopping=done == total or out_of_time,
            show=lambda **postfix: bar.set_postfix(postfix),
        )
        data_s = step_s = 0.0
        tokens = 0
        for hook in hooks:
            hook(info)
        if out_of_time:
            print(f"time limit reached at step {done}; resume with the same command")
            return done
    return total
