"""Per-device memory of a training config on a device mesh, by abstract evaluation (no weights)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from zett.config import load_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config",
        help="training config: a YAML path or a preset (mistral-7b, llama3-8b, xlm-r-base, ...)",
    )
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. collator.batch_size=256")
    p.add_argument("--mesh", required=True, help='mesh sizes: "data=1,fsdp=32,model=1" or "1x32x1"')
    p.add_argument("--json", type=Path, help="also write the plan here as JSON")
    p.add_argument(
        "--device-memory-gib",
        type=float,
        default=None,
        help="warn when the plan exceeds this per device",
    )


def run(args: argparse.Namespace) -> int:

    # imported on use, not at the top: they load JAX, and `zett --help` imports this module
    from zett.hypernet.plan import GiB, parse_mesh, plan_memory
    from zett.hypernet.train_config import TrainConfig

    cfg = load_config(TrainConfig, args.config, args.overrides)
    mesh = parse_mesh(args.mesh)
    plan = plan_memory(cfg, mesh)
    n_dev = 1
    for v in mesh.values():
        n_dev *= v
    table = Table(title=f"{cfg.base_model} on mesh {mesh} ({n_dev} devices)")
    for col in ("component", "parameters", "total", "per device", "note"):
        table.add_column(
            col, justify="right" if col in ("parameters", "total", "per device") else "left"
        )
    for r in plan.rows:
        table.add_row(
            r.component,
            f"{r.n_params / 1e6:,.1f}M" if r.n_params else "",
            f"{r.total_bytes / GiB:,.2f} GiB" if r.total_bytes else "",
            f"{r.per_device_bytes / GiB:,.3f} GiB",
            r.note,
        )
    table.add_row(
        "[bold]total[/bold]", "", "", f"[bold]{plan.per_device_bytes / GiB:,.2f} GiB[/bold]", ""
    )
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(plan.to_dict(), indent=2))
    if args.device_memory_gib and plan.per_device_bytes / GiB > args.device_memory_gib:
        print(
            f"warning: {plan.per_device_bytes / GiB:.1f} GiB per device exceeds "
            f"{args.device_memory_gib} GiB"
        )
        return 1
    return 0
