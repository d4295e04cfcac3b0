"""Fixtures of the fault suite (the world of inputs it spoils) and a summary of its cases per command
at the end of the run."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: local helpers
from world import World, build_world  # noqa: E402

_outcomes: Counter = Counter()


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    return build_world(tmp_path_factory.mktemp("world"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Counts each fault case (ids `COMMAND-what`) as passed / failed / skipped."""
    nodeid = report.nodeid.replace("\\", "/")
    if "tests/faults/" not in nodeid or "[" not in nodeid:
        return
    command = re.split(r"[-\]]", nodeid.rsplit("[", 1)[1])[0]
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _outcomes[(command, report.outcome)] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not _outcomes:
        return
    commands = sorted({c for c, _ in _outcomes})
    terminalreporter.section("fault suite: cases per command")
    terminalreporter.write_line(f"{'command':10} {'passed':>7} {'failed':>7} {'skipped':>8}")
    for c in commands:
        terminalreporter.write_line(
            f"{c:10} {_outcomes[(c, 'passed')]:>7} {_outcomes[(c, 'failed')]:>7} "
            f"{_outcomes[(c, 'skipped')]:>8}"
        )
    total = {k: sum(v for (_, o), v in _outcomes.items() if o == k) for k in ("passed", "failed")}
    terminalreporter.write_line(f"{'total':10} {total['passed']:>7} {total['failed']:>7}")
