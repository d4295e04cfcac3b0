"""`zett demo`: the real SmolLM2 moved zero-shot onto a new tokenizer, scored under the protocol on
held-out passages, exact checkpoint name in the output; an unknown method is rejected before any
work."""

from __future__ import annotations

import re

import pytest

from zett.cli.main import build_parser, main


def test_demo_registered():
    args = build_parser().parse_args(["demo"])
    assert args.model == "smollm2" and "hypernet" in args.methods


def test_unknown_method_is_rejected_before_any_work(capsys, monkeypatch):
    import zett.models

    def no_loading(*a, **k):
        raise AssertionError("the model was loaded before the methods were checked")

    monkeypatch.setattr(zett.models, "load_pretrained", no_loading)
    assert main(["demo", "--methods", "hypernet,telepathy"]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'telepathy'" in err and "fvt" in err


@pytest.mark.slow
def test_demo_hypernet_beats_fvt(capsys):
    assert (
        main(["demo", "--methods", "hypernet,fvt", "--texts", "12", "--max-new-tokens", "6"]) == 0
    )
    out = capsys.readouterr().out
    assert "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32)" in " ".join(out.split())
    rows = dict(re.findall(r"│ (original|hypernet|fvt)\s+│[^│]*│\s+([\d.]+)\s+│", out))
    assert set(rows) == {"original", "hypernet", "fvt"}, out
    assert float(rows["hypernet"]) < float(rows["fvt"]), out
    assert "greedy continuation (hypernet" in out


def test_demo_text_file_too_short(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("one line\n")
    from zett.demo import DemoConfig, split_texts

    with pytest.raises(ValueError, match="at least 20"):
        split_texts(DemoConfig(text_file=str(f)))
