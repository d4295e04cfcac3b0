"""How the `zett` command reports a failure: an expected one (bad input, a full disk, a corrupt file)
as one line naming what is wrong and a hint; a bug with its traceback and a request to report it.

Expected failures are recognised by type, without importing the libraries that raise them: zett's
own errors derive from ValueError/OSError, and the Rust-backed libraries (safetensors, tokenizers),
TensorStore/orbax, YAML, JSON and XLA raise types named below."""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

# exception classes (by name, anywhere in the MRO) that mean "bad input or environment", not a bug
_EXPECTED_NAMES = {
    "TrainingError",  # zett.training: the run cannot go on (non-finite loss); message says why
    "SafetensorError",  # safetensors (Rust): corrupt or truncated file, full disk on save
    "PanicException",  # pyo3: a Rust library panicked on malformed input
    "YAMLError",  # PyYAML: invalid YAML (zett.config names file and line where it reads one)
    "XlaRuntimeError",  # XLA: out of device memory and other runtime failures
    "TensorStoreError",
    "CheckpointError",
}
_EXPECTED_TYPES = (ValueError, OSError, MemoryError, EOFError, UnicodeError)

GENERIC_HINT = "run with --debug or ZETT_DEBUG=1 for the traceback"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `finally`/`except BaseException` cleans up (temp
    directories of half-written outputs are removed) before the process exits."""


def raise_terminated(signum: int, frame) -> None:
    raise Terminated(f"terminated by signal {signal.Signals(signum).name}")


@contextmanager
def about(path: object, what: str = "reading") -> Iterator[None]:
    """Names `path` on an error raised inside whose message does not (a library's `ValueError`
    about a field, a Rust error about bytes): the one-line report shows it as `(reading PATH)`."""
    try:
        yield
    except Exception as e:
        if str(path) not in str(e) and not any(str(path) in n for n in getattr(e, "__notes__", ())):
            e.add_note(f"{what} {path}")
        raise


def is_expected(exc: BaseException) -> bool:
    """A failure the user can act on (bad input, missing file, full disk, corrupt checkpoint)."""
    if isinstance(exc, _EXPECTED_TYPES):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _EXPECTED_NAMES:
        return True
    # tokenizers (Rust) raises the bare `Exception` with the parser's message; zett never does
    return type(exc) is Exception


def _text(exc: BaseException) -> str:
    msg = str(exc).strip()
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in msg:
        msg = f"{msg}: {exc.filename}"
    if not msg:
        msg = f"{type(exc).__name__} (no message)"
    elif type(exc) is Exception or type(exc).__name__ in _EXPECTED_NAMES:
        msg = f"{type(exc).__name__}: {msg}"  # library errors: the type says where it came from
    notes = [n for n in getattr(exc, "__notes__", ()) if n not in msg]
    if notes:
        msg = f"{msg} ({'; '.join(notes)})"
    # one line: multi-line library messages are joined
    return "; ".join(line.strip() for line in msg.splitlines() if line.strip())


def hint(exc: BaseException) -> str:
    """What the user can do about `exc`, in a few words."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "os error 28" in text or "No space left" in text:
        return "the disk is full: free some space or write the output elsewhere"
    if code == errno.EDQUOT:
        return "the disk quota is exhausted: free some space or write the output elsewhere"
    if isinstance(exc, PermissionError) or code == errno.EACCES:
        return "check the file's permissions"
    if isinstance(exc, MemoryError):
        return "out of host memory: use a smaller model, batch or dtype"
    if "RESOURCE_EXHAUSTED" in text:
        return "out of device memory: use a smaller batch, model or mesh"
    if "YAMLError" in {c.__name__ for c in type(exc).__mro__}:
        return "fix the YAML syntax at that line"
    return GENERIC_HINT


def one_line(command: str, exc: BaseException) -> str:
    """`zett <command>: error: <message> (<hint>)` for an expected failure."""
    return f"zett {command}: error: {_text(exc)} ({hint(exc)})"


def bug_report(command: str, exc: BaseException) -> str:
    """The line printed under the traceback of an unexpected exception."""
    version = __import__("zett").__version__
    return (
        f"zett {command}: internal error: {type(exc).__name__}: {exc}\n"
        f"This is a bug in zett {version}, not a problem with your input as far as zett can tell; "
        "please report it with the command line and the traceback above."
    )


def debug_requested(args_debug: bool) -> bool:
    return bool(args_debug) or os.environ.get("ZETT_DEBUG", "") not in ("", "0")
