"""`zett train` end to end on the tiny preset: losses fall, an interrupted run resumes exactly."""

import json

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


def test_interrupted_run_resumes_with_identical_losses(tmp_path, corpus):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "tiny", f"workdir={full}", f"data.train={corpus}", *COMMON]) == 0
    assert (
        main(
            [
                "train",
                "tiny",
                f"workdir={cut}",
                f"data.train={corpus}",
                *COMMON,
                "--max-steps",
                "12",
            ]
        )
        == 0
    )
    assert (
        main(["train", "tiny", f"workdir={cut}", f"data.train={corpus}", *COMMON]) == 0
    )  # resumes at 12
    a = {m["step"]: m for m in _metrics(full)}
    b = {m["step"]: m for m in _metrics(cut)}
    assert a.keys() == b.keys()
    for step in (14, 16):  # logged after the resume
        assert b[step]["loss"] == pytest.approx(a[step]["loss"], rel=1e-5), step
        assert b[step]["bits_per_byte"] == pytest.approx(a[step]["bits_per_byte"], rel=1e-5)
    assert (full / "hypernet" / "hypernet.safetensors").exists()


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
    assert 0 < main_phase[-1]["bytes_per_token"] < 20
