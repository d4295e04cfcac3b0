"""The hooks every training run uses: log metrics, validate, checkpoint — each every N steps and at the
end of the run. A hook is any callable taking a `StepInfo`; these read only the generic `TrainState`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zett.training.checkpoint import TrainCheckpointer
from zett.training.loop import StepInfo, TrainState
from zett.training.metrics import MetricsLog


class LogMetrics:
    """Every `every` steps and at the last one: the mean of each metric over the steps since the last
    row, the phase, seconds per step waiting for data / in the step, tokens per second, then `extra`
    (e.g. the learning rate). `last` holds the latest row; `postfix` names the progress-bar fields."""

    def __init__(
        self,
        log: MetricsLog,
        every: int,
        extra: Callable[[StepInfo], dict[str, float]] | None = None,
        postfix: dict[str, str] | None = None,
    ):
        self.log, self.every, self.extra = log, every, extra
        self.postfix = {"loss": "loss", "bpb": "bits_per_byte"} if postfix is None else postfix
        self.last: dict[str, float | str] = {}
        self._reset()

    def _reset(self) -> None:
        self.window: list[dict[str, float]] = []
        self.data_s = self.step_s = 0.0
        self.tokens = 0

    def __call__(self, info: StepInfo) -> None:
        self.window.append(info.metrics)
        self.data_s += info.data_s
        self.step_s += info.step_s
        self.tokens += info.tokens
        if info.step % self.every and not info.last:
            return
        n = len(self.window)
        row: dict[str, float | str] = {
            key: float(np.mean([m[key] for m in self.window])) for key in self.window[0]
        }
        row.update(
            phase=info.phase,
            data_s=self.data_s / n,
            step_s=self.step_s / n,
            tokens_per_s=self.tokens / max(self.data_s + self.step_s, 1e-9),
        )
        if self.extra is not None:
            row.update(self.extra(info))
        self.log.write(info.step, row)
        info.show(**{label: f"{row[key]:.3f}" for label, key in self.postfix.items() if key in row})
        self.last = row
        self._reset()


class Validate:
    """Every `every` steps and at the last one (where `when(info)` holds): `evaluate(state)` → a row of
    the metrics log at that step."""

    def __init__(
        self,
        log: MetricsLog,
        every: int,
        evaluate: Callable[[TrainState], dict[str, float]],
        when: Callable[[StepInfo], bool] = lambda info: True,
    ):
        self.log, self.every, self.evaluate, self.when = log, every, evaluate, when

    def __call__(self, info: StepInfo) -> None:
        if (info.step % self.every == 0 or info.last) and self.when(info):
            self.log.write(info.step, self.evaluate(info.state))


class Checkpoint:
    """Every `every` steps, at the last one and when the loop stops early (time limit): the model's
    parameters, the optimizer and `data_state()` (where the batch iterator resumes) into `checkpointer`.
    A failed write stops the run with the checkpointer's `CheckpointWriteError`.
    """

    def __init__(
        self,
        checkpointer: TrainCheckpointer,
        every: int,
        data_state: Callable[[], dict] = dict,
    ):
        self.checkpointer, self.every, self.data_state = checkpointer, every, data_state

    def __call__(self, info: StepInfo) -> None:
        if info.step % self.every == 0 or info.stopping:
            state = info.state
            self.checkpointer.save(info.step, state.model, state.optimizer, self.data_state())
