"""`keeping_checkpoints`, the guard that `zett train` and `zett finetune` share: a training error
names the checkpoint a user resumes from (or says there is none), checkpoint errors pass unchanged,
and the checkpointer is closed however the run ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from zett.training import CheckpointWriteError, TrainingError, keeping_checkpoints


class FakeCheckpointer:
    def __init__(self, latest_step):
        self.latest_step = latest_step
        self.directory = Path("/runs/x/checkpoints")
        self.closed = False

    def close(self):
        self.closed = True


def test_names_the_last_good_checkpoint_and_the_hint():
    ckpt = FakeCheckpointer(40)
    with pytest.raises(TrainingError) as err, keeping_checkpoints(ckpt, hint="lower optim.lr"):
        raise TrainingError("3 non-finite steps in a row.")
    assert str(err.value) == (
        "3 non-finite steps in a row. The last good checkpoint (step 40) is kept in "
        "/runs/x/checkpoints; lower optim.lr and run the same command to resume from it"
    )
    assert ckpt.closed


def test_without_a_checkpoint_it_says_so():
    ckpt = FakeCheckpointer(None)
    with pytest.raises(TrainingError, match=r"No checkpoint was saved before it; fix the cause"):
        with keeping_checkpoints(ckpt):
            raise TrainingError("loss is NaN.")
    assert ckpt.closed


def test_checkpoint_errors_and_other_errors_pass_unchanged():
    ckpt = FakeCheckpointer(7)
    message = "writing the checkpoint of step 8 failed; the last good checkpoint (step 7) is kept"
    with pytest.raises(CheckpointWriteError) as err, keeping_checkpoints(ckpt):
        raise CheckpointWriteError(message)
    assert str(err.value) == message
    with pytest.raises(KeyError), keeping_checkpoints(ckpt):
        raise KeyError("x")
    assert ckpt.closed


def test_a_finished_run_closes_the_checkpointer():
    ckpt = FakeCheckpointer(None)
    with keeping_checkpoints(ckpt):
        pass
    assert ckpt.closed


def test_errors_are_told_apart_by_type_not_by_their_words():
    ckpt = FakeCheckpointer(5)
    with pytest.raises(TrainingError, match=r"The last good checkpoint \(step 5\) is kept"):
        with keeping_checkpoints(ckpt):
            raise TrainingError("the checkpoint interval is longer than the run.")


def test_orphaned_read_reports_of_a_failed_step_are_dropped_and_nothing_else(tmp_path, caplog):
    """A failed restore's sibling reads fail in asyncio tasks that may be collected after the
    one-line message; asyncio's traceback report of them, for that step only, is dropped."""
    import logging

    from zett.training.checkpoint import _drop_orphaned_read_reports

    step_dir = tmp_path / "checkpoints" / "6"
    _drop_orphaned_read_reports(step_dir)
    log = logging.getLogger("asyncio")
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        log.error(
            f"Task exception was never retrieved\nfuture: <Task exception=ValueError('{step_dir}/params/')>"
        )
        log.error(
            f"Task exception was never retrieved\nfuture: <Task exception=ValueError('{tmp_path}/other')>"
        )
        log.error(f"something else about {step_dir}")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert all(f"{step_dir}/params" not in m for m in messages)
