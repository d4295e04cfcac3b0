"""`zett train` killed, interrupted or spoiled mid-run (subprocesses; slow): a SIGKILLed run resumes to
the very weights and losses of an uninterrupted one with every step logged once; Ctrl-C during a
checkpoint save and SIGTERM exit cleanly and resume; a truncated latest checkpoint falls back to the
previous one; a diverging run stops with one line naming its steps."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultcheck import check_outcome, leftovers  # noqa: E402
from test_signals import interrupt_when, start  # noqa: E402

pytestmark = pytest.mark.slow


def config(world, tmp: Path, *lines: str) -> Path:
    p = tmp / "train.yaml"
    p.write_text(world.train_yaml.read_text() + f"workdir: {tmp / 'run'}\n" + "\n".join(lines))
    return p


def finish(proc, timeout=900) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def steps(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "loss" in r]


def weights(run: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(run / "hypernet" / "hypernet.safetensors"))


@pytest.fixture(scope="module")
def reference(world, tmp_path_factory) -> Path:
    """An uninterrupted run of the world's training config (6 steps, checkpoints every 2)."""
    tmp = tmp_path_factory.mktemp("reference")
    code, err = finish(start(["train", str(config(world, tmp))]))
    assert code == 0, err
    return tmp / "run"


def _same_run(run: Path, reference: Path) -> None:
    got, want = steps(run), steps(reference)
    assert [r["step"] for r in got] == [r["step"] for r in want] == list(range(1, 7))
    np.testing.assert_array_equal([r["loss"] for r in got], [r["loss"] for r in want])
    a, b = weights(run), weights(reference)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_train_sigkill_then_resume_equals_an_uninterrupted_run(world, tmp_path, reference):
    cfg = config(world, tmp_path)
    run = tmp_path / "run"
    proc = start(["train", str(cfg)])
    assert interrupt_when(proc, lambda: (run / "checkpoints" / "4").is_dir(), signal.SIGKILL)
    finish(proc)
    again = start(["train", str(cfg)])
    out, err = again.communicate(timeout=900)
    assert again.returncode == 0 and "Traceback" not in err, err
    assert f"resuming {run} from step 4" in out, out
    _same_run(run, reference)


def _saving(run: Path):
    return lambda: any((run / "checkpoints").glob("*.orbax-checkpoint-tmp-*"))


@pytest.mark.parametrize(
    "sig, code, word",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["train-sigint-during-checkpoint-save", "train-sigterm-during-checkpoint-save"],
)
def test_train_signal_during_a_save_exits_cleanly_and_resumes(
    world, tmp_path, reference, sig, code, word
):
    cfg = config(world, tmp_path)
    run = tmp_path / "run"
    proc = start(["train", str(cfg)])
    saving = _saving(run)
    interrupt_when(proc, lambda: saving() or (run / "checkpoints" / "4").is_dir(), sig)
    got, err = finish(proc)
    assert got == code and f"zett train: {word}" in err, err
    assert "Traceback" not in err, err
    code2, err2 = finish(start(["train", str(cfg)]))
    assert code2 == 0 and "Traceback" not in err2, err2
    _same_run(run, reference)
    assert not leftovers(tmp_path) and not list((run / "checkpoints").glob("*tmp*"))


def test_train_truncated_latest_checkpoint_falls_back(world, tmp_path, reference):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    shutil.rmtree(run / "hypernet")
    latest = run / "checkpoints" / "6"
    for f in (f for f in (latest / "params").rglob("*") if f.is_file() and f.parent.name == "d"):
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    code, err = finish(start(["train", str(config(world, tmp_path))]))
    assert code == 0, err
    assert "checkpoint step 6" in err and "resuming from step 4, the newest intact" in err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    _same_run(run, reference)


def test_train_diverging_stops_with_one_line(world, tmp_path):
    cfg = config(world, tmp_path)
    lr = ["optim.identity_lr=1e30", "optim.lr=1e30", "optim.max_consecutive_nonfinite=2"]
    code, err = finish(start(["train", str(cfg), *lr]))
    check_outcome("train", code, err, 2, r"non-finite updates in a row \(steps [0-9]+-[0-9]+")
    line = [x for x in err.splitlines() if x.startswith("zett train: error:")][0]
    assert "step None" not in line
    assert "No checkpoint was saved" in line or "The last good checkpoint (step" in line
    assert not (tmp_path / "run" / "hypernet").exists()
