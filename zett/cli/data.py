"""Build or inspect multilingual train/held-out text corpora from offline sources."""

from __future__ import annotations

import argparse


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from zett.data.build import CorpusConfig

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
        help=f"comma-separated subset of {','.join(d.sources)} (default: all)",
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
    i.add_argument("--debug", action="store_true", help="show tracebacks")


def summary(manifest: dict) -> str:
    """A table of languages × splits (documents, passages, chars, MB) from a manifest."""
    lines = [
        f"{'lang':<5} {'script':<10} {'split':<8} {'docs':>7} {'passages':>9} {'chars':>11} "
        f"{'MB':>7}  sources"
    ]
    for lang, e in manifest["languages"].items():
        for split, s in e["splits"].items():
            srcs = ", ".join(f"{k} {v['chars'] / 1e6:.2f}M" for k, v in s["sources"].items())
            lines.append(
                f"{lang:<5} {e['script']:<10} {split:<8} {s['documents']:>7} {s['passages']:>9} "
                f"{s['chars']:>11,} {s['bytes'] / 1e6:>7.2f}  {srcs}"
            )
    t = manifest["totals"]
    lines.append(
        f"{len(manifest['languages'])} languages, scripts: {', '.join(manifest['scripts'])}; "
        f"train {t['train']['bytes'] / 1e6:.1f} MB, held-out {t['heldout']['bytes'] / 1e6:.1f} MB; "
        f"built in {manifest['wall_time_s']} s"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from zett.config import load_config
    from zett.data.build import CorpusConfig, build_corpus
    from zett.data.load import read_manifest

    if args.data_command == "info":
        print(summary(read_manifest(args.corpus)))
        return 0
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
