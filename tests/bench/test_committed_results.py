"""The committed bench results are what their documented commands produce: the stage commands in
experiments/bench/README.md plan exactly the cells of results-smollm2-32/, every cell of a committed
results directory belongs to its config's plan, and README.md's results block is the one
readme_tables.py writes from them. (Planning only: no model runs.)"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from zett.bench.cells import plan_cells
from zett.bench.config import BenchConfig
from zett.bench.runner import method_options, recorded_settings, settings
from zett.config import load_config

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "experiments" / "bench"


def cell_keys(results_dir: Path) -> set[tuple]:
    rows = [json.loads(line) for line in (results_dir / "cells.jsonl").read_text().splitlines()]
    return {
        (r["model"], r["tokenizer"], r["language"], r["method"], r["domain"], r.get("steps", 0))
        for r in rows
    }


def planned(config: str, overrides: list[str]) -> set[tuple]:
    return {cell.key for cell in plan_cells(load_config(BenchConfig, config, overrides))}


def readme_commands(config: str) -> list[list[str]]:
    """The `zett bench <config> ...` commands of the bench README's first code block (a `\\` joins
    lines, `#` starts a comment), as argument lists after `zett bench`."""
    text = (BENCH / "README.md").read_text()
    start = text.index("```") + 3
    block = text[start : text.index("```", start)]
    commands, current = [], ""
    for line in block.splitlines():
        line = line.split("#")[0].rstrip() if " #" in line else line.rstrip()
        if not current and not line.startswith(f"zett bench {config}"):
            continue
        current += " " + line.rstrip("\\")
        if not line.endswith("\\"):
            commands.append(shlex.split(current)[2:])
            current = ""
    return [c for c in commands if "--report-only" not in c]


def test_stage_commands_plan_exactly_the_committed_grid():
    stages = readme_commands("experiments/bench/smollm2-32.yaml")
    assert len(stages) >= 5
    union = set().union(*(planned(args[0], args[1:]) for args in stages))
    committed = cell_keys(BENCH / "results-smollm2-32")
    assert committed - union == set(), "committed cells no stage command plans"
    assert union - committed == set(), "stage commands plan cells the results do not have"


@pytest.mark.parametrize(
    "config, results",
    [("smollm2-32.yaml", "results-smollm2-32"), ("gemma3-run.yaml", "results-gemma3")],
)
def test_committed_cells_belong_to_their_config(config, results):
    committed = cell_keys(BENCH / results)
    assert committed
    assert committed <= planned(str(BENCH / config), [])


@pytest.mark.parametrize(
    "config, results",
    [("smollm2-32.yaml", "results-smollm2-32"), ("gemma3-run.yaml", "results-gemma3")],
)
def test_committed_cells_were_computed_under_their_config(config, results):
    """Passages per language, units, protocol, seed and domains of every committed cell are the
    config's, and its method options (the hypernet's weights hash included) are the method's now:
    a cell merged in from a run with other settings (e.g. 16 passages in a 32-passage table), or
    computed with other weights, fails here — the rule by which `zett bench` itself resumes."""
    conf = load_config(BenchConfig, str(BENCH / config), [])
    rows = [json.loads(line) for line in (BENCH / results / "cells.jsonl").read_text().splitlines()]
    options = {m: method_options(m) for m in conf.methods}
    other_settings = [
        (r["tokenizer"], r["language"], r["method"], r["domain"])
        for r in rows
        if recorded_settings(r) != settings(conf, r.get("steps", 0) > 0)
    ]
    other_options = [
        (r["tokenizer"], r["language"], r["method"], r["domain"])
        for r in rows
        if r.get("method_options") != options[r["method"]]
    ]
    assert other_settings == []
    assert other_options == []


def test_readme_results_block_is_current():
    sys.path.insert(0, str(BENCH))
    from readme_tables import OLD_COMMIT  # the old protocol's numbers come from git history

    sys.path.pop(0)
    history = subprocess.run(["git", "cat-file", "-e", OLD_COMMIT], cwd=ROOT, capture_output=True)
    if history.returncode:
        pytest.skip(f"a clone without commit {OLD_COMMIT} (shallow): the block cannot be rebuilt")
    check = subprocess.run(
        [sys.executable, str(BENCH / "readme_tables.py"), "--check"], cwd=ROOT, capture_output=True
    )
    assert check.returncode == 0, "README.md's results block is stale: run readme_tables.py"
