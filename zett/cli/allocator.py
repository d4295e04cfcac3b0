"""glibc malloc settings for a `zett` process, applied by re-executing it once at start-up.

Why: XLA's CPU client allocates every step's buffers afresh and frees them at its end. glibc serves
large blocks with mmap and returns freed memory to the kernel (munmap, heap trim), so each step
page-faults its activations back in 4 KiB at a time: a fine-tuning run of SmolLM2-135M at 8 × 128
tokens took ≈ 3.2 M minor page faults and ≈ 15 s of kernel time in 50 s. With malloc asking for
transparent huge pages (`hugetlb=1`, glibc ≥ 2.35, when the kernel's THP mode is `madvise` or
`always`) and freed memory kept in the process (fixed mmap threshold, high trim threshold) the same
run takes ≈ 0.2 M faults (`benchmarks/finetune_speed.py --torch-malloc` measures both frameworks
with and without). glibc reads its tunables only when a process starts, hence the re-exec.

Off: `ZETT_MALLOC_TUNING=0`, or any `GLIBC_TUNABLES` already set (the user's own are kept)."""

from __future__ import annotations

import os
import platform
import sys

# 32 MiB is the largest mmap threshold glibc accepts (HEAP_MAX_SIZE / 2 on 64-bit); a fixed one also
# stops glibc from lowering it again. The trim threshold keeps up to 16 GiB of freed heap.
TUNABLES = (
    "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
    "glibc.malloc.trim_threshold=17179869184"
)
MIN_GLIBC = (2, 35)  # the first with glibc.malloc.hugetlb


def applicable() -> bool:
    """True on Linux with a glibc new enough, when neither the user nor an earlier exec set tunables."""
    if not sys.platform.startswith("linux") or os.environ.get("ZETT_MALLOC_TUNING", "1") == "0":
        return False
    if "GLIBC_TUNABLES" in os.environ:
        return False
    lib, version = platform.libc_ver()
    if lib != "glibc":
        return False
    try:
        return tuple(int(p) for p in version.split(".")[:2]) >= MIN_GLIBC
    except ValueError:
        return False


def reexec_with_tunables() -> None:
    """Replaces this process with the same command line under `TUNABLES` (same PID; returns only
    when the settings do not apply). Call before anything heavy is imported or any file is opened."""
    if not applicable():
        return
    os.environ["GLIBC_TUNABLES"] = TUNABLES
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
