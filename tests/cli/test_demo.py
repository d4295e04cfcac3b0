"""Pulse test: `zett demo` transfers the real SmolLM2 zero-shot and the shipped hypernet beats FVT."""

from __future__ import annotations

import re

import pytest

from zett.cli.main import build_parser, main


def test_demo_registered():
    args = build_parser().parse_args(["demo"])
    assert args.model == "smollm2" and "hypernet" in args.methods


@pytest.mark.slow
def test_demo_hypernet_beats_fvt(capsys):
    assert (
        main(["demo", "--methods", "hypernet,fvt", "--texts", "12", "--max-new-tokens", "6"]) == 0
    )
    out = capsys.readouterr().out
    rows = dict(re.findall(r"│ (original|hypernet|fvt)\s+│[^│]*│\s+([\d.]+)\s+│", out))
    assert set(rows) == {"original", "hypernet", "fvt"}, out
    assert float(rows["hypernet"]) < float(rows["fvt"]), out
    assert float(rows["original"]) < 3.0, out
    assert "greedy continuation (hypernet" in out


def test_demo_text_file_too_short(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("one line\n")
    from zett.demo import DemoConfig, split_texts

    with pytest.raises(ValueError, match="at least 20"):
        split_texts(DemoConfig(text_file=str(f)))
