"""`zett plan`: full-size configs evaluated abstractly, parameter counts exact, sharding divides
memory."""

import json

import pytest

from zett.cli.main import main
from zett.config import load_config
from zett.hypernet.plan import parse_mesh, plan_memory
from zett.hypernet.train_config import TrainConfig


def test_mistral_7b_parameter_count_and_sharding():
    cfg = load_config(TrainConfig, "mistral-7b")
    one = plan_memory(cfg, parse_mesh("1x1x1"))
    pod = plan_memory(cfg, parse_mesh("data=1,fsdp=32,model=1"))
    base = one.rows[0]
    assert base.n_params == 7_241_732_096  # Mistral-7B-v0.1
    assert base.total_bytes == 2 * base.n_params  # bf16, frozen: no optimizer state
    assert pod.rows[0].per_device_bytes == pytest.approx(base.total_bytes / 32, rel=0.01)
    assert pod.per_device_bytes < one.per_device_bytes / 10


def test_parse_mesh():
    assert parse_mesh("2x16x1") == {"data": 2, "fsdp": 16, "model": 1}
    assert parse_mesh("fsdp=8") == {"data": 1, "fsdp": 8, "model": 1}
    with pytest.raises(ValueError, match="unknown mesh axes"):
        parse_mesh("tensor=4")


def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", "xlm-r-base", "--mesh", "8x1x1", "--json", str(out)]) == 0
    plan = json.loads(out.read_text())
    assert plan["mesh"] == {"data": 8, "fsdp": 1, "model": 1} and plan["per_device_GiB"] > 0
    assert "total" in capsys.readouterr().out
