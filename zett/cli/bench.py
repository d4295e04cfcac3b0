"""Bits per byte of models × target tokenizers × languages × embedding methods → table + plots."""

from __future__ import annotations

import argparse

from zett.config import load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config (zett.eval.bench.BenchConfig fields)")
    parser.add_argument(
        "overrides", nargs="*", help="dotted overrides, e.g. texts_per_language=8 output=/tmp/b"
    )
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    parser.add_argument(
        "--report-only", action="store_true", help="only rewrite tables/plots from cells.jsonl"
    )


def run(args: argparse.Namespace) -> int:
    # imported on use, not at the top: they load JAX, and `zett --help` imports this module
    from zett.eval.bench import BenchConfig, report_only, run_bench

    config = load_config(BenchConfig, args.config, args.overrides)
    if args.report_only:
        records = report_only(config)
        print(f"{len(records)} finished cells → {config.output}/results.md")
        return 0
    records = run_bench(config, progress=not args.no_progress)
    print(f"{len(records)} cells → {config.output}/results.md")
    return 0
