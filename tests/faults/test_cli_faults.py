"""Every row of the fault table (cases.py) through `zett.cli.main.main`, in-process."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import CASES, Case, Env  # noqa: E402
from faultcheck import check_outcome, leftovers  # noqa: E402

from zett.cli.main import main  # noqa: E402


def run_main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse usage errors
        return int(e.code or 0)


def _params():
    for c in CASES:
        yield pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])


@pytest.mark.parametrize("case", _params())
def test_fault(case: Case, world, tmp_path, capsys, monkeypatch):
    if "{g}" in case.argv and world.gguf is None:
        pytest.skip("the packaged SmolLM2 GGUF is not installed")
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("ZETT_DEBUG", raising=False)
    env = Env(world, tmp_path)
    extra = case.setup(env) if case.setup else {}
    fields = env.fields(extra)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = run_main(shlex.split(case.argv.format(**fields)))
    err = capsys.readouterr().err
    check_outcome(case.command, code, err, case.code, case.message, case.names.format(**fields))
    assert not leftovers(tmp_path), f"left behind: {leftovers(tmp_path)}"
    for p in case.absent:
        assert not Path(p.format(**fields)).exists(), f"{p.format(**fields)} was written"
    if case.code != 0 and not case.absent:  # inputs that were there stay as they were
        after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        assert set(before) <= set(after)


def test_the_table_is_big_enough():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
