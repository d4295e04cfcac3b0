"""Two CPU processes joined by `jax.distributed` (gloo) train in lockstep, each building only its share
of the global batch, and match one process that builds both shares itself — with the batch, fsdp or
model axis of the mesh spanning the two processes; validation runs on both and agrees; a run whose
process is killed resumes from the multi-host checkpoint exactly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from zett.cli.main import main

RUN = "import sys; from zett.cli.main import main; sys.exit(main(sys.argv[1:]))"
# the same, but process 1 kills itself (SIGKILL, no clean-up) right after the hooks of step 3 ran:
# the checkpoint of step 2 is on disk, process 0 is left waiting in step 4's collectives
RUN_KILLED_AT_3 = textwrap.dedent(
    """
    import os, signal, sys
    import jax
    from zett.cli.main import main
    from zett.training import hooks
    save = hooks.Checkpoint.__call__
    def save_then_die(self, info):
        save(self, info)
        if info.step == 3 and jax.process_index() == 1:
            os.kill(os.getpid(), signal.SIGKILL)
    hooks.Checkpoint.__call__ = save_then_die
    sys.exit(main(sys.argv[1:]))
    """
)
COMMON = [
    "optim.identity_steps=2",
    "optim.identity_warmup_steps=1",
    "optim.warmup_steps=1",
    "optim.total_steps=6",
    "log_every=1",
    "save_every=2",
    "eval_every=100",  # validation at the last step only
    "validation_tokenizers=[minilm]",
    "data.validation_texts=2",
    "tensorboard=false",
    # on the loaded 2-core machine both processes of a model-across-hosts run aborted after step 6
    # (validation) with "task 1 stopped sending heartbeats" under JAX's default 100 s
    "distributed.heartbeat_timeout_s=900",
]
STEP_KEYS = ("loss", "lm_loss", "aux_loss", "bits_per_byte", "grad_norm", "n_targets")
VAL = "val/minilm/bits_per_byte"
MESHES = {  # name → (devices per process, mesh overrides)
    # processes along the batch axis: each process's devices hold the rows it built
    "data-across-hosts": (1, ["mesh.data=2"]),
    # fsdp spans the processes: each one's devices hold rows the other built (they are gathered)
    "fsdp-across-hosts": (4, ["mesh.data=2", "mesh.fsdp=4", "mesh.dcn_fsdp=2"]),
    # model spans the processes: both hold every row, parameters are split over the hosts
    "model-across-hosts": (4, ["mesh.data=1", "mesh.fsdp=2", "mesh.model=4", "mesh.dcn_model=2"]),
}


def _cpu_collectives_available() -> bool:
    import jax

    try:
        from jax._src.lib import _jax

        return (
            hasattr(_jax, "make_gloo_tcp_collectives")
            and jax.config.jax_cpu_collectives_implementation is not None
        )
    except ImportError:
        return False


pytestmark = pytest.mark.skipif(
    not _cpu_collectives_available(), reason="this jax build has no CPU collectives (gloo)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _rows(path: Path) -> dict[int, dict]:
    """step → the metrics logged at it (a step's training row and validation row merged)."""
    out: dict[int, dict] = {}
    for row in map(json.loads, path.read_text().splitlines()):
        out.setdefault(row["step"], {}).update(row)
    return out


# a guard against a hung collective, not a speed bound: on a loaded 2-core machine (load 18) one
# 6-step two-process run took 11.5 min, most of it compiling
TIMEOUT_S = 1500


def _launch(work: Path, corpus: Path, mesh: str, script: str = RUN) -> list[subprocess.Popen]:
    devices, overrides = MESHES[mesh]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    port = _free_port()
    args = ["train", "tiny", f"workdir={work}", f"data.train={corpus}", f"data.validation={corpus}"]
    args += [*COMMON, *overrides, "--coordinator", f"localhost:{port}", "--num-processes", "2"]
    return [
        subprocess.Popen(
            [sys.executable, "-c", script, *args, "--process-id", str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]


def _finish(procs: list[subprocess.Popen], timeout: float = TIMEOUT_S) -> list[str]:
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return outs


def _train_two(work: Path, corpus: Path, mesh: str) -> tuple[dict, dict]:
    procs = _launch(work, corpus, mesh)
    for p, out in zip(procs, _finish(procs)):
        assert p.returncode == 0, out[-4000:]
    return _rows(work / "metrics.jsonl"), _rows(work / "metrics.process1.jsonl")


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, corpus) -> dict[int, dict]:
    """This process (one CPU device unless XLA_FLAGS says otherwise) builds both parts of every
    global batch."""
    work = tmp_path_factory.mktemp("one")
    args = ["train", "tiny", f"workdir={work}", f"data.train={corpus}", f"data.validation={corpus}"]
    assert main([*args, *COMMON, "data_parts=2"]) == 0
    return _rows(work / "metrics.jsonl")


@pytest.fixture(scope="module")
def fsdp_across_hosts(tmp_path_factory, corpus) -> tuple[dict, dict]:
    return _train_two(tmp_path_factory.mktemp("fsdp"), corpus, "fsdp-across-hosts")


def _check_against_one_process(host0: dict, host1: dict, single: dict) -> None:
    assert sorted(host0) == list(range(1, 7))
    assert [s for s in host0 if host0[s]["phase"] == "main"] == [3, 4, 5, 6]
    for step in host0:  # one SPMD program: both hosts see the very same replicated scalars
        for key in (*STEP_KEYS, VAL):
            assert host0[step].get(key) == host1[step].get(key), (step, key)
    assert VAL in host0[6] and VAL not in host0[5]
    for step in host0:
        for key in (*STEP_KEYS, VAL):
            if key in single[step]:
                np.testing.assert_allclose(
                    host0[step][key], single[step][key], rtol=1e-5, err_msg=f"{key} at step {step}"
                )


def test_fsdp_across_hosts_matches_one_process(fsdp_across_hosts, one_process):
    _check_against_one_process(*fsdp_across_hosts, one_process)


@pytest.mark.slow
@pytest.mark.parametrize("mesh", ["data-across-hosts", "model-across-hosts"])
def test_other_meshes_match_one_process(tmp_path, corpus, one_process, mesh):
    work = tmp_path / mesh
    _check_against_one_process(*_train_two(work, corpus, mesh), one_process)
    assert (work / "hypernet" / "hypernet.safetensors").exists()


@pytest.mark.slow
def test_killed_process_resumes_exactly(tmp_path, corpus, fsdp_across_hosts):
    work = tmp_path / "killed"
    procs = _launch(work, corpus, "fsdp-across-hosts", RUN_KILLED_AT_3)
    try:
        killed = procs[1].communicate(timeout=TIMEOUT_S)[0]
    finally:
        procs[0].kill()  # it waits for its dead peer: restart all
        _finish(procs, timeout=60)
    assert procs[1].returncode == -9, killed[-4000:]
    assert sorted(p.name for p in (work / "checkpoints").iterdir() if p.name.isdigit()) == ["2"]

    host0, host1 = _train_two(work, corpus, "fsdp-across-hosts")  # the same command again
    expected0, expected1 = fsdp_across_hosts
    assert sorted(host0) == list(range(1, 7))  # steps 3.. retrained, logged once
    for got, expected in ((host0, expected0), (host1, expected1)):
        for step in range(1, 7):
            for key in (*STEP_KEYS, VAL):
                assert got[step].get(key) == expected[step].get(key), (step, key)
