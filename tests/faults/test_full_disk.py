"""A full disk (a small tmpfs, where this user may mount one) under each command's output: one line
naming the output and saying the disk is full, exit code 2, nothing left on the disk."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import Env  # noqa: E402
from faultcheck import check_outcome  # noqa: E402

from zett.cli.main import main  # noqa: E402


@pytest.fixture
def small_disk(tmp_path):
    """A mounted tmpfs of `size` bytes (a factory); unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        where = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
        where.mkdir()
        got = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if got.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {got.stderr.strip()[:100]}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


CASES = {
    # command: (argv, tmpfs bytes: less than the output needs)
    "transfer": (
        "transfer --model {model} --tokenizer {target} --method fvt --out {out} --quiet",
        64 << 10,
    ),
    "extend": ("extend {model} {out} --tokens <X> <Y>", 64 << 10),
    "convert": ("convert {model} {out}", 64 << 10),
    "sample": ("sample {text} {out} --vocab-size 1000", 4 << 10),
}


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
@pytest.mark.parametrize("command", list(CASES))
def test_full_disk(command, world, tmp_path, small_disk, capsys, monkeypatch):
    monkeypatch.delenv("ZETT_DEBUG", raising=False)
    argv, size = CASES[command]
    disk = small_disk(size)
    fields = Env(world, tmp_path).fields({"out": str(disk / "out")})
    try:
        code = main(shlex.split(argv.format(**fields)))
    except SystemExit as e:
        code = int(e.code or 0)
    err = capsys.readouterr().err
    check_outcome(command, code, err, 2, "the disk is full", str(disk / "out"))
    assert sorted(p.name for p in disk.iterdir()) == [], "left on the full disk"
