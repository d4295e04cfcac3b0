"""The first steps of `zett train` reproduce, bit for bit, the metrics recorded on the code before the
training loop became setup + batch iterator + hooks (commit 75454c5): the loop, the batch type and the
data iterator were restructured, the numbers must not move.

`first_steps.json` was written by this test with `ZETT_RECORD_FIRST_STEPS=1` on that code (commit
643f3be); re-record only for a change that is meant to alter the training numerics, and say so in the
commit message. Bit equality holds on one kind of CPU: XLA's kernels round differently on another (a
2-vCPU AMD EPYC differs in the last bits of 10 of the 80 recorded values, the old code and the new
alike). Each `first_steps*.json` is that same pre-refactor code recorded on one kind of CPU
(`first_steps_amd_epyc.json`: `git worktree add /tmp/rec 643f3be && cd /tmp/rec &&
ZETT_RECORD_FIRST_STEPS=1 PYTHONPATH=/tmp/rec python -m pytest --runslow
tests/hypernet/test_first_steps.py`, then the file renamed), and a run must equal one of them bit for
bit; a CPU with no recording of its own fails until one is made the same way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from zett.cli.main import main

EXPECTED = Path(__file__).with_name("first_steps.json")
SHORT = [
    "optim.identity_steps=3",
    "optim.identity_warmup_steps=2",
    "optim.warmup_steps=2",
    "optim.total_steps=8",
    "log_every=1",  # every step's own numbers, no window average
    "save_every=100",
    "tensorboard=false",
    # recorded before the rescalers were frozen (v1 trained them): the option keeps v1's step
    "hypernet.train_rescalers=true",
]
RUNS = {
    "clm": ["tiny", *SHORT],
    "clm-two-parts": ["tiny", *SHORT, "data_parts=2"],  # the merged vocabulary subset of 2 hosts
    "mlm": ["tiny-mlm", *SHORT],
}
# everything the step computes, and the learning rate; not the timings
KEYS = (
    "phase",
    "loss",
    "lm_loss",
    "aux_loss",
    "nll_nats",
    "n_targets",
    "bits_per_byte",
    "bytes_per_token",
    "grad_norm",
    "lr",
)


def _run(tmp_path: Path, corpus: Path, name: str) -> dict[str, dict]:
    work = tmp_path / name
    preset, *overrides = RUNS[name]
    assert main(["train", preset, f"workdir={work}", f"data.train={corpus}", *overrides]) == 0
    rows = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    return {str(r["step"]): {k: r[k] for k in KEYS} for r in rows}


@pytest.mark.parametrize(
    "name",
    # the two-part and MLM paths also run in the default suite elsewhere (test_multihost, test_train)
    [
        "clm",
        pytest.param("clm-two-parts", marks=pytest.mark.slow),
        pytest.param("mlm", marks=pytest.mark.slow),
    ],
)
def test_first_steps_are_bit_identical_to_the_recorded_ones(tmp_path, corpus, name):
    got = _run(tmp_path, corpus, name)
    if os.environ.get("ZETT_RECORD_FIRST_STEPS") == "1":
        recorded = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
        EXPECTED.write_text(json.dumps({**recorded, name: got}, indent=1, sort_keys=True) + "\n")
        pytest.skip("recorded")
    assert list(got) == [str(s) for s in range(1, 9)]
    files = {p.name: json.loads(p.read_text()) for p in EXPECTED.parent.glob("first_steps*.json")}
    recordings = {file: runs[name] for file, runs in sorted(files.items()) if name in runs}
    assert recordings, f"no recording of {name!r}"
    # floats survive the JSON round trip exactly (repr), so == is bit equality
    differences = {
        file: [
            (step, key, got[step][key], value)
            for step, row in expected.items()
            for key, value in row.items()
            if got[step][key] != value
        ]
        for file, expected in recordings.items()
    }
    assert any(not d for d in differences.values()), (name, differences)
