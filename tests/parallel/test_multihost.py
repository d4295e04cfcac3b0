"""Two CPU processes joined by `jax.distributed` train in lockstep, each building only its share of the
global batch, and match one process that builds both shares itself."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from zett.cli.main import main

RUN = "import sys; from zett.cli.main import main; sys.exit(main(sys.argv[1:]))"
COMMON = [
    "optim.identity_steps=2",
    "optim.identity_warmup_steps=1",
    "optim.warmup_steps=1",
    "optim.total_steps=6",
    "log_every=1",
    "save_every=100",
    "tensorboard=false",
]


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _losses(path):
    return {m["step"]: m for m in map(json.loads, path.read_text().splitlines())}


@pytest.mark.skipif(
    not _cpu_collectives_available(), reason="this jax build has no CPU collectives (gloo)"
)
def test_two_processes_train_in_lockstep_and_match_one(tmp_path, corpus):
    work = tmp_path / "two"
    port = _free_port()
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    args = [
        "train",
        "tiny",
        f"workdir={work}",
        f"data.train={corpus}",
        *COMMON,
        "--coordinator",
        f"localhost:{port}",
        "--num-processes",
        "2",
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN, *args, "--process-id", str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=240)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    host0, host1 = _losses(work / "metrics.jsonl"), _losses(work / "metrics.process1.jsonl")
    assert sorted(host0) == list(range(1, 7))
    main_steps = [s for s in host0 if host0[s]["phase"] == "main"]
    assert main_steps == [3, 4, 5, 6]
    for step in host0:  # one SPMD program: both hosts see the very same replicated scalars
        for key in ("loss", "lm_loss", "aux_loss", "bits_per_byte", "grad_norm"):
            assert host0[step][key] == host1[step][key], (step, key)

    ref = tmp_path / "one"  # this process (one CPU device) builds both parts of every global batch
    assert (
        main(["train", "tiny", f"workdir={ref}", f"data.train={corpus}", *COMMON, "data_parts=2"])
        == 0
    )
    single = _losses(ref / "metrics.jsonl")
    for step in host0:
        for key in ("loss", "lm_loss", "bits_per_byte", "n_targets"):
            np.testing.assert_allclose(
                host0[step][key], single[step][key], rtol=1e-5, err_msg=f"{key} at step {step}"
            )
    assert (work / "hypernet" / "hypernet.safetensors").exists()
