"""Build or inspect multilingual train/held-out text corpora from offline sources."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from zett.config import load_config
from zett.data.build import CorpusConfig, build_corpus
from zett.data.card import card, summary
from zett.data.disjoint import corpus_overlap
from zett.data.load import read_manifest
from zett.data.sources import EVAL_SOURCES, TRAIN_SOURCES


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:

    d = CorpusConfig()
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build train/held-out JSONL per language plus manifest.json")
    b.add_argument("--out", required=True, help="output directory")
    b.add_argument(
        "--config",
        default=None,
        help="YAML CorpusConfig (e.g. experiments/data/standard.yaml); flags override it",
    )
    b.add_argument(
        "--langs", type=_csv, default=None, help=f"comma-separated (default: {','.join(d.langs)})"
    )
    b.add_argument(
        "--sources",
        type=_csv,
        default=None,
        help=f"comma-separated; training: {','.join(TRAIN_SOURCES)}; evaluation-only (with "
        f"purpose: eval in --config): {','.join(EVAL_SOURCES)} (default: {','.join(d.sources)})",
    )
    b.add_argument(
        "--max-chars-per-lang",
        type=int,
        default=None,
        help=f"train characters per language (default: {d.max_chars_per_lang:,})",
    )
    b.add_argument(
        "--max-heldout-chars-per-lang",
        type=int,
        default=None,
        help="held-out characters per language (default: max-chars * f / (1 - f))",
    )
    b.add_argument(
        "--heldout-fraction",
        type=float,
        default=None,
        help=f"share of split units (chapters, pages, stdlib subpackages) held out (default: "
        f"{d.heldout_fraction})",
    )
    b.add_argument("--seed", type=int, default=None, help=f"default: {d.seed}")
    b.add_argument(
        "--debian-packages",
        type=_csv,
        default=None,
        help="comma-separated Debian packages (default: man pages + LibreOffice help for the "
        "languages)",
    )
    b.add_argument(
        "--cache-dir", default=None, help="Debian package cache (default: ~/.cache/zett/debian)"
    )
    b.add_argument("--debug", action="store_true", help="show tracebacks")
    i = sub.add_parser("info", help="print a built corpus's manifest summary")
    i.add_argument("corpus", help="corpus directory")
    i.add_argument(
        "--card",
        metavar="FILE",
        default=None,
        help="write the Markdown corpus card (chars / passages / documents per language x "
        "source, content hash, config) to FILE ('-': stdout)",
    )
    i.add_argument("--debug", action="store_true", help="show tracebacks")
    c = sub.add_parser(
        "check",
        help="check that an evaluation corpus shares no source family, Debian package, unit or "
        "passage with a training corpus",
    )
    c.add_argument("--train", required=True, help="training corpus directory (its train split)")
    c.add_argument("--eval", required=True, help="evaluation corpus directory")
    c.add_argument("--split", default="heldout", help="evaluation split (default: heldout)")
    c.add_argument("--debug", action="store_true", help="show tracebacks")


def run(args: argparse.Namespace) -> int:

    if args.data_command == "info":
        manifest = read_manifest(args.corpus)
        if args.card is None:
            print(summary(manifest))
        elif args.card == "-":
            print(card(manifest, Path(args.corpus).name), end="")
        else:
            Path(args.card).write_text(card(manifest, Path(args.corpus).name), encoding="utf-8")
            print(f"wrote {args.card}")
        return 0
    if args.data_command == "check":
        overlap = corpus_overlap(args.train, args.eval, args.split)
        print(overlap.describe())
        print("OK: never trained on" if overlap.clean else "FAIL: overlap")
        return 0 if overlap.clean else 1
    fields = (
        "langs",
        "sources",
        "max_chars_per_lang",
        "max_heldout_chars_per_lang",
        "heldout_fraction",
        "seed",
        "debian_packages",
        "cache_dir",
    )
    overrides = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
    config = dataclasses.replace(load_config(CorpusConfig, args.config), **overrides)
    manifest = build_corpus(args.out, config)
    print(summary(manifest))
    print(f"wrote {args.out}/manifest.json")
    return 0
