"""The validation curves plot (`zett.hypernet.curves`): the curves drawn are exactly the logged
validation values (checked on the returned series, not on pixels), held-out and out-of-domain apart,
and it is written for a tiny real run at the end of `zett train` (tests/hypernet/test_validation.py).
"""

import json

import pytest

from zett.hypernet.curves import main, plot_validation, validation_curves

ROWS = [
    {"step": 2, "loss": 6.1, "bits_per_byte": 2.0, "phase": "main"},
    {
        "step": 3,
        "val/minilm/bits_per_byte": 3.5,
        "val/de/uni.json/bits_per_byte": 4.25,
        "val_ood/de/uni.json/bits_per_byte": 5.0,
        "identity/n": 50,
        "identity/cosine_mean": 0.25,
        "identity/rel_error_mean": 0.9,
    },
    {"step": 4, "loss": 5.9, "bits_per_byte": 1.9, "phase": "main"},
    {
        "step": 6,
        "val/minilm/bits_per_byte": 3.0,
        "val/de/uni.json/bits_per_byte": 4.0,
        "val_ood/de/uni.json/bits_per_byte": 4.75,
        "identity/n": 50,
        "identity/cosine_mean": 0.5,
        "identity/rel_error_mean": 0.75,
        "identity_out/cosine_mean": 0.125,
    },
]


def _run(tmp_path, rows=ROWS):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def test_curves_are_the_logged_values(tmp_path):
    run = _run(tmp_path)
    curves = plot_validation(run)
    assert (run / "validation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    got = {k: (c.steps, c.values) for k, c in curves.items()}
    assert got == {
        "val/minilm/bits_per_byte": ((3, 6), (3.5, 3.0)),
        "val/de/uni.json/bits_per_byte": ((3, 6), (4.25, 4.0)),
        "val_ood/de/uni.json/bits_per_byte": ((3, 6), (5.0, 4.75)),
        "identity/cosine_mean": ((3, 6), (0.25, 0.5)),
        "identity/rel_error_mean": ((3, 6), (0.9, 0.75)),
        "identity_out/cosine_mean": ((6,), (0.125,)),
    }  # training rows (loss, bits_per_byte of the sampled batches) and identity/n are not curves
    ood = curves["val_ood/de/uni.json/bits_per_byte"]
    assert (ood.text_set, ood.tokenizer) == ("val_ood", "de/uni.json")
    assert curves["val/minilm/bits_per_byte"].tokenizer == "minilm"
    assert curves["identity/cosine_mean"].text_set is None


def test_redraw_from_the_command_line(tmp_path):
    run = _run(tmp_path)
    out = tmp_path / "elsewhere.png"
    assert main([str(run), "--out", str(out)]) == 0
    assert out.is_file() and not (run / "validation.png").exists()
    assert not list(tmp_path.glob(".*.tmp"))  # written to a temp file, then renamed


def test_a_run_without_validation_is_a_clear_error(tmp_path):
    run = _run(tmp_path, ROWS[::2])
    assert validation_curves(run / "metrics.jsonl") == {}
    with pytest.raises(ValueError, match="no validation rows"):
        plot_validation(run)
    with pytest.raises(FileNotFoundError, match="no metrics.jsonl"):
        plot_validation(tmp_path)
    (run / "metrics.jsonl").write_text('{"step": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2: not a JSON line"):
        plot_validation(run)
