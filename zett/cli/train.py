"""Train a hypernetwork (resumes automatically from the work directory's last checkpoint)."""

from __future__ import annotations

import argparse
from dataclasses import replace


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


def run(args: argparse.Namespace) -> int:
    import jax
    import yaml

    from zett.config import load_config, to_dict
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
