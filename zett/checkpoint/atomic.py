"""Nothing half-written: files and directories are written under a temporary name beside their
destination and renamed into place only once complete.

A temporary name carries the writer's pid (`.NAME.tmp-PID-RANDOM`), and a temporary directory is
`flock`ed by its writer while it is filled. A run killed outright (SIGKILL, power loss) leaves its
temporary behind; the next write to the same destination removes every such leftover that is older
than the current process and that no live process holds, and says so on stderr."""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

# leftovers must predate this process: a temp created since may belong to a concurrent writer
# that has not locked it yet
_STARTED = time.time()


def _tmp_name(name: str, kind: str = "tmp") -> str:
    return f".{name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _pid_of(leftover: Path) -> int | None:
    try:
        return int(leftover.name.rsplit("-", 2)[-2])
    except (IndexError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None or pid == os.getpid():
        return pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _locked(path: Path) -> bool:
    """True when a live process holds the directory's lock (or it cannot be opened to tell)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's own lock
    return False


def clean_stale(dest: str | os.PathLike, log: bool = True) -> list[Path]:
    """Removes the temporaries that crashed writes of `dest` left beside it (`.NAME.tmp-*`,
    `.NAME.old-*`): those older than this process whose writer is gone. Returns what it removed."""
    dest = Path(dest).absolute()
    if not dest.parent.is_dir():
        return []
    removed = []
    for kind in ("tmp", "old"):
        for p in dest.parent.glob(f".{glob.escape(dest.name)}.{kind}-*"):
            try:
                if p.lstat().st_mtime >= _STARTED or p.is_symlink():
                    continue
            except FileNotFoundError:
                continue
            if p.is_dir():
                # a directory's writer holds its lock; an old-style name has no pid to go by
                if _locked(p) or (_alive(_pid_of(p)) and _pid_of(p) is not None):
                    continue
                shutil.rmtree(p, ignore_errors=True)
            else:
                if _pid_of(p) is None or _alive(_pid_of(p)):
                    continue
                p.unlink(missing_ok=True)
            removed.append(p)
            if log:
                print(
                    f"zett: removed {p}, left by an interrupted earlier write of {dest}",
                    file=sys.stderr,
                )
    return removed


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a fresh temporary path beside `path` to write to (for writers that want a path, e.g.
    `safetensors.numpy.save_file`); on a clean exit it is renamed onto `path`, on an error removed."""
    path = Path(path)
    created = _make_parents(path)
    clean_stale(path)
    tmp = path.with_name(_tmp_name(path.name))
    try:
        # not mkstemp: its files are private (0600); this one gets the permissions open() gives
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        _remove_empty(created)
        _note(e, path)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str | Iterable[str]) -> Path:
    """Writes bytes, a string or an iterable of strings (streamed; UTF-8) to `path` atomically."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        elif isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(data)
    return Path(path)


def check_output_dir(out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """The absolute destination; raises `FileExistsError` for an existing file or non-empty directory
    unless `overwrite` (call it before expensive work, so a run does not fail at its very end)."""
    out = Path(out_dir).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(
            f"{out} exists and is not empty; pass overwrite=True (--overwrite) to replace it"
        )
    return out


@contextmanager
def atomic_dir(out_dir: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yields a fresh temporary directory beside `out_dir` to fill; on a clean exit it replaces
    `out_dir` (an old one is removed only after the rename succeeded), on an error — Ctrl-C and
    SIGTERM included, where the CLI raises on it — it is removed.

    Refuses an existing non-empty destination unless `overwrite` (see `check_output_dir`). Leftovers
    of earlier killed writes to `out_dir` are removed first (see `clean_stale`)."""
    out = check_output_dir(out_dir, overwrite)
    created = _make_parents(out)
    clean_stale(out)
    tmp = out.with_name(_tmp_name(out.name))
    tmp.mkdir()  # not mkdtemp: its directories are private (0700); the result is shared as usual
    lock = os.open(tmp, os.O_RDONLY)  # held while filling: tells `clean_stale` the writer lives
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield tmp
        _replace_dir(tmp, out)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        _note(e, out)
        raise
    finally:
        os.close(lock)


@contextmanager
def scratch_dir(beside: str | os.PathLike) -> Iterator[Path]:
    """A temporary directory beside `beside` (same disk), locked and named like `atomic_dir`'s so a
    killed run's leftover is cleaned up the same way; always removed on exit."""
    dest = Path(beside).absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(dest)
    tmp = dest.with_name(_tmp_name(dest.name))
    tmp.mkdir()
    lock = os.open(tmp, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.close(lock)


def _make_parents(path: Path) -> list[Path]:
    """Creates `path`'s missing parent directories; returns them, deepest first."""
    missing, p = [], path.parent
    while not p.exists():
        missing.append(p)
        p = p.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_empty(dirs: list[Path]) -> None:
    """Removes the directories a failed write created (deepest first) while they are empty: a
    failed command leaves no empty output directory behind."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            return


def _note(exc: BaseException, dest: Path) -> None:
    """Names the destination on an error from a writer that does not (Rust libraries, numpy)."""
    if isinstance(exc, Exception) and str(dest) not in str(exc):
        note = f"while writing {dest}"
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)


def _replace_dir(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(_tmp_name(out.name, "old"))
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old) if old.is_dir() else old.unlink()
