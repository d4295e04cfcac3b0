"""Pulse test: `zett demo` runs end to end on the real SmolLM2 and prints sane perplexities."""

from __future__ import annotations

import re

from zett.cli.main import main


def test_demo_runs(capsys):
    """About 25 s on 2 idle cores (GGUF read, jit forward over 24 texts, 8 greedy tokens)."""
    assert main(["demo", "--max-new-tokens", "8"]) == 0
    out = capsys.readouterr().out
    rows = dict(re.findall(r"│ (English|German|French|Spanish|Russian|Chinese)\s+│(?:[^│]*│){3}\s+([\d.]+)\s+│", out))
    assert set(rows) == {"English", "German", "French", "Spanish", "Russian", "Chinese"}, out
    assert float(rows["English"]) < 30, out  # SmolLM2 is an English model: low perplexity there
    assert all(1 < float(v) < 2000 for v in rows.values()), out
    assert "greedy continuation" in out and "Paris" in out


def test_demo_registered():
    from zett.cli.main import build_parser

    args = build_parser().parse_args(["demo"])
    assert args.max_new_tokens > 0 and args.prompt
