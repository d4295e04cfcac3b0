"""The generic training loop on a toy counter state: hooks every N steps, non-finite steps skipped, the
time limit, and a metrics log that a resumed run rewrites instead of duplicating."""

from __future__ import annotations

import json
import math

import pytest

from zett.training import (
    SKIPPED,
    LogMetrics,
    MetricsLog,
    StepInput,
    TrainingError,
    Validate,
    run_loop,
)


class Counter:
    """A stand-in train state: the step function counts its updates."""

    def __init__(self):
        self.updates = self.skipped = 0


def _step(losses):
    """A step function whose loss at update t is `losses[t]` (NaN = a non-finite step, not applied)."""

    def step(state, item):
        loss = losses[state.updates + state.skipped]
        if math.isnan(loss):
            state.skipped += 1
            return {"loss": loss, SKIPPED: 1.0}
        state.updates += 1
        return {"loss": loss, "batch": float(item.batch), SKIPPED: 0.0}

    return step


def _batches(phase="main"):
    i = 0
    while True:
        yield StepInput(i, phase, tokens=10)
        i += 1


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def state():
    return Counter()


def test_hooks_every_n_steps_and_at_the_end(tmp_path, state):
    log = MetricsLog(tmp_path)
    metrics = LogMetrics(log, every=3, postfix={})
    seen = []
    validate = Validate(log, every=4, evaluate=lambda s: {"val": s.updates * 10.0})
    losses = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    end = run_loop(
        state,
        _step(losses),
        _batches(),
        start=0,
        total=7,
        hooks=[metrics, validate, lambda info: seen.append((info.step, info.stopping))],
        progress=False,
    )
    assert end == 7 and state.updates == 7
    assert seen == [(s, s == 7) for s in range(1, 8)]
    rows = _rows(tmp_path / "metrics.jsonl")
    assert [(r["step"], r.get("loss"), r.get("val")) for r in rows] == [
        (3, 2.0, None),  # mean of 1, 2, 3
        (4, None, 40.0),
        (6, 5.0, None),
        (7, 7.0, None),  # the last step logs a window of one
        (7, None, 70.0),
    ]
    assert rows[0]["phase"] == "main" and rows[0]["batch"] == 1.0  # mean of batches 0, 1, 2
    assert metrics.last["loss"] == 7.0


def test_non_finite_steps_are_skipped_then_stop_the_run(tmp_path, state):
    nan = float("nan")
    seen = []
    run_loop(
        state,
        _step([1.0, nan, nan, 4.0, 5.0]),
        _batches(),
        start=0,
        total=4,
        hooks=[lambda info: seen.append((info.step, info.metrics["loss"]))],
        max_consecutive_nonfinite=3,
        progress=False,
    )
    # the skipped updates reach no hook, but take their place in the schedule
    assert seen == [(1, 1.0), (4, 4.0)] and state.updates == 2
    with pytest.raises(TrainingError, match=r"3 non-finite updates in a row \(steps 2-4"):
        run_loop(
            Counter(),
            _step([1.0, nan, nan, nan, 5.0]),
            _batches(),
            start=0,
            total=5,
            max_consecutive_nonfinite=3,
            progress=False,
        )


def test_time_limit_stops_after_the_step_that_passes_it(tmp_path, state):
    seen = []
    end = run_loop(
        state,
        _step([1.0] * 10),
        _batches(),
        start=4,
        total=10,
        hooks=[lambda info: seen.append((info.step, info.stopping, info.last))],
        deadline=0.0,  # long past
        progress=False,
    )
    assert end == 5 and seen == [(5, True, False)]


def test_a_resumed_log_drops_the_rows_after_the_restored_step(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [{"step": s, "loss": float(s)} for s in (2, 4, 6, 8)] + [{"step": 6, "val": 1.0}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    log = MetricsLog(tmp_path, resume_step=4)
    assert _rows(path) == rows[:2]
    log.write(6, {"loss": 60.0})
    assert [r["step"] for r in _rows(path)] == [2, 4, 6]
    MetricsLog(tmp_path, resume_step=0)  # restarted from scratch: nothing of the old run is kept
    assert path.read_text() == ""
