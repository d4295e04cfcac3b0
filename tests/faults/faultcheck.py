"""What every fault case asserts about a finished command: its exit code, one error line naming the
problem, no traceback, and nothing half-written left behind."""

from __future__ import annotations

import re
from pathlib import Path

TEMP_NAME = re.compile(r"^\..*\.(tmp|old)-|\.tmp$|^\.zett-")


def leftovers(root: Path) -> list[Path]:
    """Temporary files/directories of interrupted writes anywhere under `root`."""
    return sorted(p for p in root.rglob("*") if TEMP_NAME.search(p.name))


def error_lines(command: str, err: str) -> list[str]:
    if command == "zett":  # the command line itself: argparse names the parser it failed in
        return [line for line in err.splitlines() if re.match(r"zett( [a-z]+)?: error:", line)]
    return [line for line in err.splitlines() if line.startswith(f"zett {command}: error:")]


def check_outcome(
    command: str,
    code: int,
    err: str,
    want_code: int,
    message: str,
    names: str = "",
) -> None:
    assert "Traceback (most recent call last)" not in err, f"traceback printed:\n{err}"
    assert code == want_code, f"exit code {code}, expected {want_code}; stderr:\n{err}"
    if want_code == 0:
        assert re.search(message, err), f"no message matching {message!r}:\n{err}"
        if names:
            assert names in err, f"the message does not name {names}:\n{err}"
        return
    lines = error_lines(command, err)
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{err}"
    assert re.search(message, lines[0]), f"{lines[0]!r} does not match {message!r}"
    if names:
        assert names in lines[0], f"{lines[0]!r} does not name {names}"
