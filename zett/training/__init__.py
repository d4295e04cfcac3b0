"""zett.training: the model-agnostic training loop (setup stays with the caller): a driver that runs a
jitted step over a batch iterator, and hooks every N steps for metrics, validation and checkpoints.

    state = TrainState(model, optimizer)
    log = MetricsLog(workdir, resume_step=start)
    hooks = [LogMetrics(log, 10), Validate(log, 200, evaluate), Checkpoint(checkpointer, 200, data_state)]
    run_loop(state, step_fn, batches, start=start, total=total, hooks=hooks)
"""

from zett.training.checkpoint import CheckpointWriteError, TrainCheckpointer, keeping_checkpoints
from zett.training.hooks import Checkpoint, LogMetrics, Validate
from zett.training.loop import (
    SKIPPED,
    Hook,
    StepInfo,
    StepInput,
    TrainingError,
    TrainState,
    run_loop,
)
from zett.training.metrics import MetricsLog

__all__ = [
    "SKIPPED",
    "Checkpoint",
    "CheckpointWriteError",
    "Hook",
    "LogMetrics",
    "MetricsLog",
    "StepInfo",
    "StepInput",
    "TrainCheckpointer",
    "TrainState",
    "TrainingError",
    "Validate",
    "keeping_checkpoints",
    "run_loop",
]
