"""Continue training a checkpoint (or, n-shot, its hypernetwork) on text under its tokenizer."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import yaml

from zett.config import load_config, to_dict


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML path (see experiments/finetune/*.yaml)")
    p.add_argument(
        "overrides",
        nargs="*",
        help="dotted overrides, e.g. model=out/smol-de embeddings.steps=200 full.steps=0",
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
    g.add_argument("--coordinator", default=None, help="host:port of process 0")
    g.add_argument("--num-processes", type=int, default=None, help="processes in the run")
    g.add_argument("--process-id", type=int, default=None, help="this process, 0..num_processes-1")


def run(args: argparse.Namespace) -> int:
    # imported on use, not at the top: they load JAX, and `zett --help` imports this module
    import jax

    from zett.finetune import FinetuneConfig, finetune
    from zett.parallel import initialize_distributed
    from zett.training import TrainingError

    cfg = load_config(FinetuneConfig, args.config, args.overrides)
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
    initialize_distributed(cfg.distributed)  # before anything touches a device
    try:
        result = finetune(
            cfg,
            max_steps=args.max_steps,
            max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
        )
    except TrainingError as e:
        print(f"zett finetune: error: {e}", file=sys.stderr)
        return 1
    if jax.process_index() == 0:
        row = {**result.metrics, **result.validation}
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
        if result.out is not None:
            print(f"model saved to {result.out}")
        else:
            print(f"stopped at step {result.step}; run the same command to resume")
    return 0
