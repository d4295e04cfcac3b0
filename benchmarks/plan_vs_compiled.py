"""`zett plan` against the compiled train step: per-device parameter, optimizer and activation memory
as planned by abstract evaluation vs what XLA reports for the very step compiled on a CPU mesh of 8
devices (`compiled.memory_analysis()`; nothing is allocated, so 7B configs compile on a laptop).

    python benchmarks/plan_vs_compiled.py [--configs tiny:8x1x1,mistral-7b:1x8x1 ...] [--layers N]

Compiled figures: parameters = the arguments of the step without the optimizer (forward/eval step:
frozen base model, hypernet, source tables, batch); optimizer = train-step arguments − those;
activations = the train step's temp allocation. Planned: the matching plan rows (parameters
include the batch row). The presets run with fp32 compute (`model.dtype=float32`,
`hypernet.dtype=float32`): XLA's CPU backend has no bf16 matmul and computes bf16 programs in f32,
so a bf16 program's temp on CPU is not what an accelerator allocates; fp32 compares like with like
(the plan's bf16 figures for accelerators come from the same model with bf16 sizes).
Writes benchmarks/results/plan_vs_compiled.json."""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()
os.environ["JAX_PLATFORMS"] = "cpu"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from machine import cpu_model

FP32 = ["model.dtype=float32", "hypernet.dtype=float32"]
CONFIGS = (
    "tiny:8x1x1",
    "tiny:2x4x1",
    "tiny:2x2x2",
    "tiny:1x4x2",
    "mistral-7b:1x8x1",
    "llama3-8b:1x8x1",
)
PARAMS = ("base model (frozen)", "hypernet params", "source tables (frozen)", "batch")


def compare(preset: str, mesh_text: str, overrides: list[str]) -> dict:
    from zett.config import load_config
    from zett.hypernet.plan import compiled_memory, parse_mesh, plan_memory, with_model
    from zett.hypernet.train_config import TrainConfig
    from zett.parallel import make_mesh

    cfg = with_model(load_config(TrainConfig, preset, overrides))
    sizes = parse_mesh(mesh_text)
    cfg = replace(cfg, mesh=replace(cfg.mesh, **sizes))
    t0 = time.perf_counter()
    plan = plan_memory(cfg, sizes)
    t1 = time.perf_counter()
    compiled = compiled_memory(cfg, make_mesh(cfg.mesh))
    t2 = time.perf_counter()
    planned = {
        "parameters": sum(plan.row(n).per_device_bytes for n in PARAMS),
        "optimizer": plan.row("optimizer state").per_device_bytes,
        "activations": plan.row("activations").per_device_bytes,
    }
    actual = {
        "parameters": compiled.arguments_no_optimizer,
        "optimizer": compiled.arguments - compiled.arguments_no_optimizer,
        "activations": compiled.temp,
    }
    return {
        "config": preset,
        "overrides": overrides,
        "mesh": sizes,
        "planned_MiB": {k: v / 2**20 for k, v in planned.items()},
        "compiled_MiB": {k: v / 2**20 for k, v in actual.items()},
        "planned_over_compiled": {k: planned[k] / actual[k] for k in planned},
        "plan_s": t1 - t0,
        "compile_s": t2 - t1,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--configs", default=",".join(CONFIGS), help="PRESET:MESH,... (mesh DxFxM)")
    p.add_argument("--layers", type=int, default=None, help="cut the presets to N layers (quick)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/plan_vs_compiled.json"))
    args = p.parse_args()
    runs = []
    for item in args.configs.split(","):
        preset, mesh = item.split(":")
        overrides = [] if preset == "tiny" else list(FP32)
        if args.layers and preset != "tiny":
            overrides.append(f"model.num_hidden_layers={args.layers}")
        run = compare(preset, mesh, overrides)
        runs.append(run)
        ratios = "  ".join(
            f"{k} {run['planned_MiB'][k]:,.1f}/{run['compiled_MiB'][k]:,.1f} MiB "
            f"({100 * (v - 1):+.1f}%)"
            for k, v in run["planned_over_compiled"].items()
        )
        print(f"{preset:12s} {mesh:7s} planned/compiled per device: {ratios}", flush=True)
    result = {
        "machine": {
            "cpu_model": cpu_model(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": list(os.getloadavg()),
            "devices": "8 CPU devices (--xla_force_host_platform_device_count=8)",
        },
        "command": "python benchmarks/plan_vs_compiled.py "
        + " ".join(
            f"--configs {args.configs}".split()
            + ([f"--layers {args.layers}"] if args.layers else [])
        ),
        "runs": runs,
        "max_abs_deviation": max(
            abs(v - 1) for r in runs for v in r["planned_over_compiled"].values()
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"max |planned/compiled − 1| = {100 * result['max_abs_deviation']:.1f}%  → {args.out}")


if __name__ == "__main__":
    main()
