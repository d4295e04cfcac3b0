"""Signals in the middle of work, in a subprocess each: SIGTERM and Ctrl-C during `zett transfer`'s and
`zett convert`'s write remove the temporary directory; SIGKILL leaves it, and the next run removes it
with a message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultcheck import leftovers  # noqa: E402

ZETT = [sys.executable, "-m", "zett.cli.main"]


@pytest.fixture(scope="module")
def big_model(world, tmp_path_factory) -> Path:
    """The world's model with 6 wide layers of zeros (~60 MB): its write takes long enough to be
    interrupted."""
    from safetensors.numpy import save_file

    out = tmp_path_factory.mktemp("big") / "model"
    out.mkdir()
    cfg = json.loads((world.model / "config.json").read_text())
    h, f, n = 384, 1536, 6
    cfg.update(hidden_size=h, intermediate_size=f, num_hidden_layers=n, head_dim=h // 4)
    cfg.update(num_attention_heads=4, num_key_value_heads=4)
    (out / "config.json").write_text(json.dumps(cfg))
    v = cfg["vocab_size"]
    rng = np.random.default_rng(0)
    t = {
        "model.embed_tokens.weight": rng.normal(0, 0.02, (v, h)).astype(np.float32),
        "lm_head.weight": rng.normal(0, 0.02, (v, h)).astype(np.float32),
        "model.norm.weight": np.ones(h, np.float32),
    }
    for i in range(n):
        p = f"model.layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            t[f"{p}self_attn.{name}.weight"] = np.zeros((h, h), np.float32)
        t[f"{p}mlp.gate_proj.weight"] = np.zeros((f, h), np.float32)
        t[f"{p}mlp.up_proj.weight"] = np.zeros((f, h), np.float32)
        t[f"{p}mlp.down_proj.weight"] = np.zeros((h, f), np.float32)
        t[f"{p}input_layernorm.weight"] = np.ones(h, np.float32)
        t[f"{p}post_attention_layernorm.weight"] = np.ones(h, np.float32)
    save_file(t, str(out / "model.safetensors"), metadata={"format": "pt"})
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (world.model / name).exists():
            (out / name).write_bytes((world.model / name).read_bytes())
    return out


def start(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "HF_HUB_OFFLINE": "1"}
    env.pop("ZETT_DEBUG", None)
    return subprocess.Popen(
        ZETT + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def interrupt_when(proc: subprocess.Popen, ready, sig: int, timeout: float = 300) -> bool:
    """Sends `sig` once `ready()` holds (polled); False when the process ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        if ready():
            proc.send_signal(sig)
            return True
        time.sleep(0.005)
    proc.kill()
    raise AssertionError("the process never reached the point to interrupt")


def writing(parent: Path, name: str):
    """True once the temporary directory of `parent/name` holds its first output file."""
    return lambda: any(any(p.iterdir()) for p in parent.glob(f".{name}.tmp-*"))


def transfer_argv(model: Path, world, out: Path) -> list[str]:
    return [
        "transfer", "--model", str(model), "--tokenizer", str(world.target), "--method", "fvt",
        "--out", str(out), "--max-shard-size", "0.005",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "sig, code, word",
    [
        (signal.SIGTERM, 143, "terminated"),
        pytest.param(signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow),
    ],
    ids=["transfer-sigterm-mid-write", "transfer-sigint-mid-write"],
)
def test_transfer_signal_mid_write_leaves_nothing(big_model, world, tmp_path, sig, code, word):
    out = tmp_path / "out"
    proc = start(transfer_argv(big_model, world, out))
    hit = interrupt_when(proc, writing(tmp_path, "out"), sig)
    _, err = proc.communicate(timeout=300)
    assert hit, f"the write finished before the signal; stderr:\n{err}"
    assert proc.returncode == code, err
    assert "Traceback" not in err and f"zett transfer: {word}" in err
    assert not out.exists() and not leftovers(tmp_path), leftovers(tmp_path)


@pytest.mark.slow
def test_transfer_sigkill_leftover_is_cleaned_by_the_next_run(big_model, world, tmp_path):
    out = tmp_path / "out"
    proc = start(transfer_argv(big_model, world, out))
    assert interrupt_when(proc, writing(tmp_path, "out"), signal.SIGKILL)
    proc.communicate(timeout=60)
    stale = leftovers(tmp_path)
    assert stale and not out.exists()  # kill -9 cannot clean up: the next run must
    rerun = start(transfer_argv(big_model, world, out) + ["--quiet"])
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert f"removed {stale[0]}, left by an interrupted earlier write of {out}" in err
    assert out.is_dir() and not leftovers(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig, code",
    [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
    ids=["convert-sigterm-mid-write", "convert-sigint-mid-write"],
)
def test_convert_signal_mid_write_leaves_nothing(big_model, tmp_path, sig, code):
    out = tmp_path / "out"
    proc = start(["convert", str(big_model), str(out)])
    hit = interrupt_when(proc, lambda: any(tmp_path.glob(".out.tmp-*")), sig)
    _, err = proc.communicate(timeout=300)
    assert hit, err
    assert proc.returncode == code and "Traceback" not in err, err
    assert not out.exists() and not leftovers(tmp_path), leftovers(tmp_path)


@pytest.mark.parametrize("case", ["checkpoint-live-writer-kept"])
def test_a_live_writers_temp_dir_is_not_removed(tmp_path, case):
    """Two writers of one destination: the second must not remove the first one's temp dir."""
    from zett.checkpoint import atomic_dir
    from zett.checkpoint.atomic import clean_stale

    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a").write_text("x")
        os.utime(tmp, (0, 0))  # older than this process, as a crashed run's would be
        assert clean_stale(tmp_path / "out") == []  # locked by this (live) writer
        assert tmp.exists()
    assert (tmp_path / "out" / "a").exists() and not leftovers(tmp_path)
