"""Train a hypernetwork (resumes automatically from the work directory's last checkpoint)."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import yaml

from zett.config import load_config, to_dict


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config",
        help="YAML path or preset: tiny, smollm2-135m, gemma3-270m, mistral-7b, llama3-8b, "
        "xlm-r-base",
    )
    p.add_argument(
        "overrides", nargs="*", help="dotted overrides, e.g. optim.total_steps=1000 workdir=runs/x"
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop after this step (the schedule is unchanged)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="checkpoint and stop after this much wall time",
    )
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print where this process sits in the run (devices, mesh coordinates, data parts, "
        "checkpoints) and exit without joining it; without a process id, every process",
    )
    g = p.add_argument_group(
        "multi-host (every process runs the same command; one process needs none of these)"
    )
    g.add_argument(
        "--coordinator",
        default=None,
        help="host:port of process 0 (or distributed.coordinator_address)",
    )
    g.add_argument(
        "--num-processes",
        type=int,
        default=None,
        help="processes in the run (distributed.num_processes)",
    )
    g.add_argument(
        "--process-id",
        type=int,
        default=None,
        help="this process, 0..num_processes-1 (distributed.process_id)",
    )
    g.add_argument(
        "--local-devices",
        type=int,
        default=None,
        help="accelerators per process, for --dry-run (default: this machine's)",
    )


def run(args: argparse.Namespace) -> int:
    # imported on use, not at the top: they load JAX, and `zett --help` imports this module
    import jax

    from zett.hypernet import TrainConfig, train
    from zett.parallel import initialize_distributed

    cfg = load_config(TrainConfig, args.config, args.overrides)
    flags = {
        "coordinator_address": args.coordinator,
        "num_processes": args.num_processes,
        "process_id": args.process_id,
    }
    cfg = replace(
        cfg,
        distributed=replace(cfg.distributed, **{k: v for k, v in flags.items() if v is not None}),
    )
    if args.print_config:
        print(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        return 0
    if args.dry_run:
        print(dry_run(cfg, args.local_devices))
        return 0
    initialize_distributed(
        cfg.distributed
    )  # before anything touches a device; a no-op for one process
    last = train(
        cfg,
        max_steps=args.max_steps,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
    )
    if jax.process_index() == 0:
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in last.items()})
        print(f"hypernetwork saved to {cfg.workdir}/hypernet")
    return 0


def dry_run(cfg, local_devices: int | None = None) -> str:
    """Where the processes of `cfg`'s run sit (the one named by the config / environment, or all of
    them), without joining the run or touching an accelerator unless `local_devices` is unknown."""

    # imported on use, not at the top: zett.parallel loads JAX, and `zett --help` imports this module
    from zett.parallel.distributed import resolve
    from zett.parallel.layout import describe, process_layouts

    dist = resolve(cfg.distributed)
    n, me = dist.num_processes, dist.process_id
    tpu_hosts = os.environ.get("TPU_WORKER_HOSTNAMES")
    if n is None and tpu_hosts:  # a TPU VM pod: JAX discovers the rest itself
        n = len(tpu_hosts.split(","))
        me = int(os.environ.get("TPU_WORKER_ID", "0")) if me is None else me
    n = n or 1
    if local_devices is None:
        import jax

        local_devices = jax.local_device_count()
    layouts = process_layouts(
        cfg.mesh, n, local_devices, cfg.collator.batch_size, cfg.data_parts, cfg.mesh.rules
    )
    shape = dict(zip(("data", "fsdp", "model"), cfg.mesh.shape(n * local_devices)))
    dcn = {a: d for a, d in zip(("data", "fsdp", "model"), cfg.mesh.dcn) if d > 1}
    coordinator = dist.coordinator_address or ("TPU pod: discovered by JAX" if tpu_hosts else "-")
    head = [
        f"run: {n} process(es) × {local_devices} device(s), coordinator {coordinator}",
        f"mesh: {shape}" + (f", across processes {dcn}" if dcn else ", processes outermost"),
        f"global batch: {cfg.collator.batch_size} texts in {cfg.data_parts or n} data part(s); "
        f"substring counts shared between processes each step"
        if n > 1
        else f"global batch: {cfg.collator.batch_size} texts",
        f"checkpoints: {Path(cfg.workdir).absolute() / 'checkpoints'} (every process writes its "
        f"shards there: storage all hosts mount at the same path)",
    ]
    chosen = layouts if me is None else [layouts[me]]
    return "\n".join(head + [describe(layout, n, shape) for layout in chosen])
