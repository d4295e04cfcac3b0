"""The `zett` command re-executes itself under glibc malloc tunables (zett.cli.allocator): the settings
reach the new process, glibc honours them (a large malloc'd block is backed by transparent huge
pages, which it is not without them), and a user's own GLIBC_TUNABLES or ZETT_MALLOC_TUNING=0 is left
alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zett.cli import allocator

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")

# malloc's and touches 256 MiB (through libc itself: numpy would madvise huge pages on its own), then
# prints the tunables and the process's huge-page-backed KiB.
HUGE_PAGES_PROBE = """
import ctypes, os, re
from zett.cli.allocator import reexec_with_tunables
reexec_with_tunables()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
size = 256 * 2**20
block = libc.malloc(ctypes.c_size_t(size))
ctypes.memset(block, 1, size)
rollup = open("/proc/self/smaps_rollup").read()
print(os.environ.get("GLIBC_TUNABLES"), int(re.search(r"AnonHugePages:\\s+(\\d+)", rollup)[1]))
"""


def run_probe(env_changes: dict[str, str | None]) -> tuple[str, int]:
    env = dict(os.environ)
    env.pop("GLIBC_TUNABLES", None)
    env.pop("ZETT_MALLOC_TUNING", None)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    out = subprocess.run(
        [sys.executable, "-c", HUGE_PAGES_PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0], int(out[1])


def thp_mode() -> str | None:
    if not THP.exists():
        return None
    text = THP.read_text()
    return text[text.index("[") + 1 : text.index("]")]


def glibc_supported() -> bool:
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "ZETT_MALLOC_TUNING")}
    old = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return allocator.applicable()
    finally:
        os.environ.clear()
        os.environ.update(old)


@pytest.mark.skipif(
    not glibc_supported() or thp_mode() != "madvise",
    reason="needs Linux, glibc >= 2.35 and the kernel's THP mode `madvise` (where only the tunable "
    "decides)",
)
def test_reexec_gives_huge_pages_and_default_does_not():
    tunables, huge_kib = run_probe({})
    assert tunables == allocator.TUNABLES
    assert huge_kib >= 128 * 1024  # most of the 256 MiB block sits in 2 MiB pages

    tunables, huge_kib = run_probe({"ZETT_MALLOC_TUNING": "0"})
    assert tunables == "None"
    assert huge_kib < 16 * 1024


def test_users_own_tunables_are_kept(monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    assert not allocator.applicable()
    execs = []
    monkeypatch.setattr(os, "execv", lambda *a: execs.append(a))
    allocator.reexec_with_tunables()
    assert execs == [] and os.environ["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2"


def test_opt_out_and_non_glibc(monkeypatch):
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.setenv("ZETT_MALLOC_TUNING", "0")
    assert not allocator.applicable()
    monkeypatch.delenv("ZETT_MALLOC_TUNING")
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("glibc", "2.31"))
    assert not allocator.applicable()  # no hugetlb tunable before 2.35
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert not allocator.applicable()  # musl and others


def test_console_command_reexecs_but_in_process_calls_do_not(monkeypatch):
    from zett.cli import main as cli_main

    calls = []
    monkeypatch.setattr(cli_main, "reexec_with_tunables", lambda: calls.append(1))
    with pytest.raises(SystemExit):
        cli_main.main(["--version"])
    assert calls == []
    monkeypatch.setattr(sys, "argv", ["zett", "--version"])
    with pytest.raises(SystemExit):
        cli_main.main()
    assert calls == [1]
