"""The `zett` command: one module per subcommand under `zett.cli`, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import traceback

import zett
from zett.cli.allocator import reexec_with_tunables
from zett.cli.errors import (
    Terminated,
    bug_report,
    debug_requested,
    is_expected,
    one_line,
    raise_terminated,
)

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

DEBUG_HELP = "on an error, show the full traceback (also: ZETT_DEBUG=1)"


class Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error (argparse prints the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="zett", description=zett.__doc__)
    parser.add_argument("--version", action="version", version=f"zett {zett.__version__}")
    # its own dest: a subcommand's --debug default would overwrite a shared one
    parser.add_argument("--debug", dest="debug_global", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        p = sub.add_parser(name, help=doc, description=doc)
        module.add_arguments(p)
        if "--debug" not in p._option_string_actions:
            p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one subcommand. An expected failure prints one line `zett CMD: error: MESSAGE (HINT)` and
    returns 2; Ctrl-C returns 130 and SIGTERM 143, both after cleaning up half-written outputs; a bug
    prints its traceback and returns 1. `--debug` / ZETT_DEBUG=1 re-raise with the traceback."""
    if argv is None:  # the console command (tests pass argv and keep their own process)
        reexec_with_tunables()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    debug = debug_requested(args.debug_global or getattr(args, "debug", False))
    previous = _install_sigterm()
    try:
        code = args._run(args)
    except Terminated:
        if debug:
            raise
        print(
            f"zett {args.command}: terminated (SIGTERM); partial outputs removed", file=sys.stderr
        )
        return 143
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"zett {args.command}: interrupted; partial outputs removed", file=sys.stderr)
        return 130
    except Exception as e:
        if debug:
            raise
        if is_expected(e):
            print(one_line(args.command, e), file=sys.stderr)
            return 2
        traceback.print_exc()
        print(bug_report(args.command, e), file=sys.stderr)
        return 1
    finally:
        _restore_sigterm(previous)
    return int(code or 0)


def _install_sigterm():
    try:
        return signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
