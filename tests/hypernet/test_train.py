"""`zett train` end to end on the tiny preset: losses fall, an interrupted run resumes exactly."""

import json
import shutil

import pytest

from zett.cli.main import main


def _metrics(workdir):
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


COMMON = [
    "optim.identity_steps=4",
    "optim.identity_warmup_steps=2",
    "optim.warmup_steps=2",
    "optim.total_steps=16",
    "log_every=2",
    "save_every=6",
    "tensorboard=false",
]


def test_interrupted_run_resumes_with_identical_losses(tmp_path, corpus, capsys):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "tiny", f"workdir={full}", f"data.train={corpus}", *COMMON]) == 0
    args = ["train", "tiny", f"workdir={cut}", f"data.train={corpus}", *COMMON]
    assert main([*args, "--max-steps", "12"]) == 0
    # killed between two checkpoints: its rows up to step 12 were logged, the step-12 checkpoint
    # never landed, so the run resumes at 6 and trains 7..12 again
    shutil.rmtree(cut / "checkpoints" / "12")
    assert main(args) == 0
    a, b = _metrics(full), _metrics(cut)
    assert [m["step"] for m in b] == [m["step"] for m in a] == list(range(2, 17, 2))  # each once
    for x, y in zip(a, b):
        for key in ("loss", "lm_loss", "aux_loss", "bits_per_byte", "grad_norm", "lr"):
            assert y[key] == x[key], (x["step"], key)
    assert (full / "hypernet" / "hypernet.safetensors").exists()
    # its checkpoints belong to its config: resuming under another schedule is refused, by name
    capsys.readouterr()
    assert main([*args, "optim.total_steps=20"]) == 2
    assert "optim.total_steps: 16 → 20" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_main_loss_falls(tmp_path, corpus):
    work = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "tiny",
                f"workdir={work}",
                f"data.train={corpus}",
                "optim.total_steps=300",
                "tensorboard=false",
            ]
        )
        == 0
    )
    main_phase = [m for m in _metrics(work) if m["phase"] == "main"]
    first, last = main_phase[0]["lm_loss"], main_phase[-1]["lm_loss"]
    assert last < first - 0.5, (first, last)


def test_mlm_objective_trains_on_a_tiny_bert(tmp_path, corpus):
    work = tmp_path / "mlm"
    assert main(["train", "tiny-mlm", f"workdir={work}", f"data.train={corpus}"]) == 0
    main_phase = [m for m in _metrics(work) if m["phase"] == "main"]
    assert main_phase and all(
        m["n_targets"] > 0 for m in main_phase
    )  # masked positions carry the loss
    assert main_phase[-1]["lm_loss"] < main_phase[0]["lm_loss"]


def test_disk_full_while_checkpointing_keeps_the_last_checkpoint(
    tmp_path, corpus, full_disk, capsys
):
    """`zett train`'s step-12 checkpoint hits ENOSPC half-way: a clear error (exit 2), the partial
    write is gone, step 6 is kept; the same command then resumes and finishes."""
    full_disk(12)
    work = tmp_path / "w"
    args = ["train", "tiny", f"workdir={work}", f"data.train={corpus}", *COMMON]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "checkpoint of step 12" in err and "No space left on device" in err
    assert "last good checkpoint (step 6) is kept" in err
    assert sorted(p.name for p in (work / "checkpoints").iterdir()) == ["6"]
    full_disk(None)
    assert main(args) == 0
    assert (work / "hypernet" / "hypernet.safetensors").exists()
    assert [m["step"] for m in _metrics(work)][-1] == 16
