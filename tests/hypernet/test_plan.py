"""`zett plan`: full-size configs evaluated abstractly, parameter counts exact, sharding divides
memory, and the planned per-device memory of a tiny run matches what XLA compiles for 8 CPU
devices."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from zett.cli.main import main
from zett.config import load_config
from zett.hypernet.plan import parse_mesh, plan_memory
from zett.hypernet.train_config import TrainConfig


def test_mistral_7b_parameter_count_and_sharding():
    cfg = load_config(TrainConfig, "mistral-7b")
    one = plan_memory(cfg, parse_mesh("1x1x1"), activations=False)
    pod = plan_memory(cfg, parse_mesh("data=1,fsdp=32,model=1"), activations=False)
    base = one.rows[0]
    assert base.n_params == 7_241_732_096  # Mistral-7B-v0.1
    assert base.total_bytes == 2 * base.n_params  # bf16, frozen: no optimizer state
    assert pod.rows[0].per_device_bytes == pytest.approx(base.total_bytes / 32, rel=0.01)
    hyper = one.row("hypernet params")
    assert one.row("optimizer state").total_bytes == 2 * hyper.total_bytes  # AdamW mu + nu
    assert pod.per_device_bytes < one.per_device_bytes / 10


def test_parse_mesh():
    assert parse_mesh("2x16x1") == {"data": 2, "fsdp": 16, "model": 1}
    assert parse_mesh("fsdp=8") == {"data": 1, "fsdp": 8, "model": 1}
    with pytest.raises(ValueError, match="unknown mesh axes"):
        parse_mesh("tensor=4")


def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", "tiny", "--mesh", "8x1x1", "--json", str(out)]) == 0
    plan = json.loads(out.read_text())
    assert plan["mesh"] == {"data": 8, "fsdp": 1, "model": 1} and plan["per_device_GiB"] > 0
    assert "activations" in {r["component"] for r in plan["rows"]}
    assert "total" in capsys.readouterr().out


COMPARE = textwrap.dedent(
    """
    import json, sys
    from dataclasses import replace
    from zett.config import load_config
    from zett.hypernet.plan import compiled_memory, parse_mesh, plan_memory
    from zett.hypernet.train_config import TrainConfig
    from zett.parallel import make_mesh
    sizes = parse_mesh(sys.argv[1])
    cfg = load_config(TrainConfig, "tiny")
    cfg = replace(cfg, mesh=replace(cfg.mesh, **sizes))
    plan = plan_memory(cfg, sizes)
    compiled = compiled_memory(cfg, make_mesh(cfg.mesh))
    params = ("base model (frozen)", "hypernet params", "source tables (frozen)", "batch")
    print(json.dumps({
        "planned": [sum(plan.row(n).per_device_bytes for n in params),
                    plan.row("optimizer state").per_device_bytes,
                    plan.row("activations").per_device_bytes],
        "compiled": [compiled.arguments_no_optimizer,
                     compiled.arguments - compiled.arguments_no_optimizer,
                     compiled.temp],
    }))
    """
)


@pytest.mark.parametrize(
    "mesh",
    ["2x4x1", pytest.param("2x2x2", marks=pytest.mark.slow)],  # data × fsdp (× model)
)
def test_planned_memory_matches_the_compiled_step(mesh):
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu"
    )
    r = subprocess.run(
        [sys.executable, "-c", COMPARE, mesh], env=env, capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    (params, optimizer, activations), (c_params, c_optimizer, c_temp) = (
        got["planned"],
        got["compiled"],
    )
    # shapes and shardings are exact: XLA's argument buffers are the plan's rows to the byte
    assert params == pytest.approx(c_params, rel=1e-3)
    assert optimizer == pytest.approx(c_optimizer, rel=1e-3)
    # activations: the traced step's liveness against XLA's temp allocation (the 10%)
    assert activations == pytest.approx(c_temp, rel=0.10)
