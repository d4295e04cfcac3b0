"""Two CPU processes joined by `jax.distributed` fine-tune in lockstep, each building only its rows
of the global batch, and match one process that builds both parts itself (`data_parts=2`)."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from ft_helpers import weights

from zett.cli.main import main

RUN = "import sys; from zett.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _collectives() -> bool:
    import jax

    try:
        from jax._src.lib import _jax

        return (
            hasattr(_jax, "make_gloo_tcp_collectives")
            and jax.config.jax_cpu_collectives_implementation is not None
        )
    except ImportError:
        return False


def _rows(path):
    return {m["step"]: m for m in map(json.loads, path.read_text().splitlines())}


@pytest.mark.skipif(not _collectives(), reason="this jax build has no CPU collectives (gloo)")
def test_two_processes_finetune_in_lockstep_and_match_one(tmp_path, tiny_tied, corpus):
    common = [
        "finetune",
        "experiments/finetune/tiny.yaml",
        f"model={tiny_tied}",
        "tokenizer=null",
        f"data.train={corpus}",
        "data.langs=[]",
        "data.validation_texts=0",
        "embeddings.steps=2",
        "full.steps=2",
        "log_every=1",
        # Adam divides by sqrt(v) + eps: with the default eps (1e-8) an element whose gradient cancels
        # to ~1e-10 over the rows turns the all-reduce's other summation order into a step of up to
        # the learning rate (CI saw 1.7e-5 at lr 1e-2 on 1 of 12,800 elements). At eps 1e-6 rounding
        # noise stays below the normalisation scale; a real divergence (wrong rows, a step out of
        # lockstep) still moves weights by ~lr.
        "optim.eps=1e-6",
    ]
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    work = tmp_path / "two"
    args = [
        *common,
        f"workdir={work}",
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
            outs.append(p.communicate(timeout=400)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    host0, host1 = _rows(work / "metrics.jsonl"), _rows(work / "metrics.process1.jsonl")
    assert sorted(host0) == [1, 2, 3, 4]
    for step in host0:  # one SPMD program: the same replicated scalars on both hosts
        for key in ("loss", "bits_per_byte", "grad_norm"):
            assert host0[step][key] == host1[step][key], (step, key)

    one = tmp_path / "one"
    assert main([*common, f"workdir={one}", "data_parts=2"]) == 0
    single = _rows(one / "metrics.jsonl")
    for step in host0:
        for key in ("loss", "nll_nats", "n_targets", "bits_per_byte"):
            np.testing.assert_allclose(host0[step][key], single[step][key], rtol=1e-5)
    a, b = weights(work / "model"), weights(one / "model")  # process 0 exported the gathered model
    lr_max = 1e-2  # experiments/finetune/tiny.yaml, embeddings phase
    for name in a:  # measured at eps 1e-6: at most 6e-7, i.e. 6e-5 of one step
        np.testing.assert_allclose(a[name], b[name], rtol=1e-4, atol=1e-3 * lr_max, err_msg=name)
