"""Outputs are created with the user's umask (not private 0700/0600 temp permissions)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zett.cli.main import main  # noqa: E402


@pytest.mark.parametrize(
    "command,umask", [("transfer", 0o022), ("transfer", 0o027), ("extend", 0o027)]
)
def test_outputs_follow_the_umask(world, tmp_path, command, umask):
    out = tmp_path / "out"
    if command == "transfer":
        argv = ["transfer", "--model", str(world.model), "--tokenizer", str(world.target)]
        argv += ["--method", "fvt", "--out", str(out), "--quiet"]
    else:
        argv = ["extend", str(world.model), str(out), "--tokens", "<X>"]
    old = os.umask(umask)
    try:
        assert main(argv) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    files = list(out.iterdir())
    assert "model.safetensors" in {f.name for f in files}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f.name
