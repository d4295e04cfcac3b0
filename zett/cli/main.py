"""The `zett` command: one module per subcommand under `zett.cli`, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import sys

import zett

# subcommand → module exposing `add_arguments(parser)` and `run(args) -> int | None`; the module's
# docstring is the one-line help. Every module is imported to build the parser, so what loads JAX or
# torch is imported inside `run`.
COMMANDS: dict[str, str] = {
    "demo": "zett.cli.demo",
    "convert": "zett.cli.convert",
    "plan": "zett.cli.plan",
    "train": "zett.cli.train",
    "finetune": "zett.cli.finetune",
    "data": "zett.cli.data",
    "sample": "zett.cli.sample",
    "extend": "zett.cli.extend",
    "transfer": "zett.cli.transfer",
    "bench": "zett.cli.bench",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zett", description=zett.__doc__)
    parser.add_argument("--version", action="version", version=f"zett {zett.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        p = sub.add_parser(name, help=doc, description=doc)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    try:
        code = args._run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, OSError) as e:
        if getattr(args, "debug", False):
            raise
        print(f"zett {args.command}: error: {e}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
