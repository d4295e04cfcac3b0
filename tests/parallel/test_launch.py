"""The launch recipes in experiments/pods/: their environment parsing and the dry run each process
prints (devices, mesh coordinates, data part) — as far as a machine without a pod or SLURM can go."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from zett.parallel import MeshConfig
from zett.parallel.layout import process_layouts

ROOT = Path(__file__).resolve().parents[2]
PODS = ROOT / "experiments" / "pods"


def _run(script: str, *args: str, env: dict[str, str], path: Path | None = None):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "TPU_", "ZETT_"))}
    full.update(env)
    if path is not None:
        full["PATH"] = f"{path}:{full['PATH']}"
    return subprocess.run(
        ["bash", str(PODS / script), *args],
        env=full,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _fake(directory: Path, name: str, body: str) -> None:
    directory.mkdir(exist_ok=True)
    tool = directory / name
    tool.write_text("#!/usr/bin/env bash\n" + body)
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_layout_of_fsdp_across_two_processes():
    """Hand-worked: data=2 × fsdp=4, fsdp spread over 2 processes of 4 devices. Process 1 holds fsdp
    columns 2-3 of both data rows; the batch (8 rows over data × fsdp, one row a device) puts rows
    2,3 and 6,7 there, while process 1 builds rows 4-7."""
    mesh = MeshConfig(data=2, fsdp=4, dcn_fsdp=2)
    p0, p1 = process_layouts(mesh, 2, 4, batch_size=8)
    assert p1.devices == (4, 5, 6, 7)
    assert p1.coordinates == ((0, 2, 0), (0, 3, 0), (1, 2, 0), (1, 3, 0))
    assert (p1.parts, p1.built_rows, p1.held_rows) == ((1,), (4, 8), (2, 3, 6, 7))
    assert p0.held_rows == (0, 1, 4, 5) and p0.gathers_rows and p1.gathers_rows
    # the default layout puts processes on the outermost axis: each holds what it builds
    d0, d1 = process_layouts(MeshConfig(data=2, fsdp=4), 2, 4, batch_size=8)
    assert d1.coordinates[0] == (1, 0, 0) and d1.held_rows == (4, 5, 6, 7)
    assert not d1.gathers_rows


def test_slurm_task_discovers_coordinator_and_rank(tmp_path):
    env = {
        "SLURM_NTASKS": "2",
        "SLURM_PROCID": "1",
        "COORDINATOR_HOST": "gpu-node-01",  # scontrol's first host of the allocation
        "GPUS_PER_NODE": "4",
        "WORKDIR": str(tmp_path / "run"),
        "DRY_RUN": "1",
    }
    r = _run("gpu_task.sh", "tiny", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "run: 2 process(es) × 4 device(s), coordinator gpu-node-01:12355" in out
    assert "mesh: {'data': 2, 'fsdp': 4, 'model': 1}, processes outermost" in out
    assert "process 1 of 2" in out and "process 0 of 2" not in out
    assert "devices 4-7" in out and "data  coordinates 1" in out
    assert "builds part(s) 1 = text rows 4..7 of every global batch" in out
    assert "its own rows, nothing is gathered" in out
    assert f"checkpoints: {tmp_path / 'run' / 'checkpoints'}" in out


def test_slurm_batch_script_runs_one_task_per_node(tmp_path):
    fake = tmp_path / "bin"
    _fake(fake, "srun", 'shift\nSLURM_PROCID=0 SLURM_NTASKS=2 exec "$@"\n')  # rank 0 of 2
    # show hostnames: one per line. A large allocation's list outlives a reader that stops at the
    # first line (`| head -n 1` under pipefail failed the job with SIGPIPE, 141, now and then in CI;
    # with 2,000 names, every time)
    _fake(fake, "scontrol", 'echo node07\nfor i in $(seq 8 2000); do echo "node$i"; done\n')
    env = {"SLURM_JOB_NODELIST": "node[07-2000]", "WORKDIR": str(tmp_path), "DRY_RUN": "1"}
    r = _run("slurm_gpu.sbatch", "tiny", env=env, path=fake)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "run: 2 process(es) × 8 device(s), coordinator node07:12355" in r.stdout
    assert "process 0 of 2" in r.stdout and "devices 0-7" in r.stdout


def test_tpu_worker_reads_the_pod_environment(tmp_path):
    env = {
        "TPU_WORKER_HOSTNAMES": "t1v-w-0,t1v-w-1,t1v-w-2,t1v-w-3",  # a v4-32 slice: 4 workers
        "TPU_WORKER_ID": "2",
        "LOCAL_DEVICES": "4",
        "WORKDIR": str(tmp_path / "run"),
        "DRY_RUN": "1",
    }
    r = _run("tpu_worker.sh", "mistral-7b", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "run: 4 process(es) × 4 device(s), coordinator TPU pod: discovered by JAX" in out
    assert "mesh: {'data': 1, 'fsdp': 16, 'model': 1}" in out
    assert "process 2 of 4" in out and "devices 8-11" in out and "fsdp  coordinates 8-11" in out
    assert "builds part(s) 2 = text rows 64..95 of every global batch" in out


@pytest.mark.parametrize("script", ["tpu_worker.sh", "gpu_task.sh"])
def test_scripts_refuse_to_run_without_shared_workdir(script):
    r = _run(script, "tiny", env={"SLURM_NTASKS": "1", "SLURM_PROCID": "0"})
    assert r.returncode != 0 and "WORKDIR" in r.stderr


def test_tpu_pod_sends_one_command_to_every_worker(tmp_path):
    fake = tmp_path / "bin"
    _fake(fake, "gcloud", 'printf "%s\\n" "$@"\n')
    env = {"TPU": "pod-a", "ZONE": "us-central2-b", "WORKDIR": "/mnt/shared/run a"}
    r = _run("tpu_pod.sh", "mistral-7b", "optim.total_steps=10", env=env, path=fake)
    assert r.returncode == 0, r.stderr
    args = r.stdout.splitlines()
    assert args[:5] == ["compute", "tpus", "tpu-vm", "ssh", "pod-a"]
    assert "--worker=all" in args
    command = args[args.index("--command") + 1]
    assert command.startswith("cd ~/zett && WORKDIR=/mnt/shared/run\\ a ")
    assert command.endswith("experiments/pods/tpu_worker.sh mistral-7b optim.total_steps=10")
