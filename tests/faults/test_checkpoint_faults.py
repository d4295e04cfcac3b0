"""Training checkpoints that cannot be read: the newest intact one is restored instead (and said so),
the unreadable one is moved aside, and when none can be read the error says so in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import optax
import pytest
from flax import nnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultcheck import check_outcome  # noqa: E402

from zett.cli.errors import one_line  # noqa: E402
from zett.training import TrainCheckpointer  # noqa: E402
from zett.training.checkpoint import CORRUPT_DIR, CheckpointRestoreError  # noqa: E402


def _state(seed: int):
    model = nnx.Linear(8, 4, rngs=nnx.Rngs(seed))
    return model, nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)


def _saved(workdir: Path) -> dict[int, np.ndarray]:
    """Checkpoints at steps 1 and 2 with different weights; returns each step's kernel."""
    ckpt = TrainCheckpointer(workdir, keep=3)
    kernels = {}
    for step in (1, 2):
        model, opt = _state(step)
        kernels[step] = np.asarray(model.kernel[...])
        ckpt.save(step, model, opt, {"step": step})
    ckpt.close()
    return kernels


def _spoil(step_dir: Path, how: str) -> None:
    """Spoils every data file of the step's parameters (small arrays are stored inline in the
    `d/` files of the OCDBT tree, large ones in `ocdbt.process_0/d/`)."""
    for data in (
        f for f in (step_dir / "params").rglob("*") if f.is_file() and f.parent.name == "d"
    ):
        if how == "truncate":
            data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
        elif how == "garbage":
            data.write_bytes(b"\x00" * data.stat().st_size)
        elif how == "delete":
            data.unlink()


@pytest.mark.parametrize(
    "how",
    ["truncate", "garbage", "delete"],
    ids=["train-checkpoint-truncated", "train-checkpoint-garbage", "train-checkpoint-file-deleted"],
)
def test_restore_falls_back_to_the_newest_intact_checkpoint(tmp_path, capsys, how):
    kernels = _saved(tmp_path)
    _spoil(tmp_path / "checkpoints" / "2", how)
    model, opt = _state(99)
    ckpt = TrainCheckpointer(tmp_path, keep=3)
    step, data = ckpt.restore_latest(model, opt)
    err = capsys.readouterr().err
    assert (step, data) == (1, {"step": 1})
    np.testing.assert_array_equal(np.asarray(model.kernel[...]), kernels[1])
    assert f"checkpoint step 2 in {tmp_path / 'checkpoints'} cannot be restored" in err
    assert "resuming from step 1, the newest intact checkpoint" in err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert (tmp_path / CORRUPT_DIR / "2").is_dir() and not (tmp_path / "checkpoints" / "2").exists()
    ckpt.save(2, model, opt, {"step": 2})  # the run goes on and writes step 2 again
    assert ckpt.latest_step == 2
    ckpt.close()


def test_no_intact_checkpoint_is_one_clear_error(tmp_path):
    _saved(tmp_path)
    for step in (1, 2):
        _spoil(tmp_path / "checkpoints" / str(step), "truncate")
    model, opt = _state(0)
    ckpt = TrainCheckpointer(tmp_path, keep=3)
    with pytest.raises(CheckpointRestoreError) as info:
        ckpt.restore_latest(model, opt)
    ckpt.close()
    line = one_line("train", info.value)
    check_outcome("train", 2, line, 2, r"no checkpoint can be restored \(step 2: .*; step 1: ")
    assert str(tmp_path / "checkpoints") in line and "\n" not in line


def test_an_interrupted_save_leaves_the_previous_checkpoint(tmp_path):
    """Ctrl-C while a save is being written: the orbax temporary is discarded on the next start and
    the previous step restores."""
    kernels = _saved(tmp_path)
    tmp = tmp_path / "checkpoints" / "3.orbax-checkpoint-tmp-1234567"
    (tmp / "params").mkdir(parents=True)
    (tmp / "params" / "half").write_bytes(b"\x00" * 10)
    model, opt = _state(0)
    ckpt = TrainCheckpointer(tmp_path, keep=3)
    assert ckpt.restore_latest(model, opt)[0] == 2
    np.testing.assert_array_equal(np.asarray(model.kernel[...]), kernels[2])
    ckpt.close()
    assert not tmp.exists()
