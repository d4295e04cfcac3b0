"""What a benchmark records about the machine it ran on: speed figures from different CPUs are not
comparable (the sessions' VMs changed between an unrecorded CPU and a 2-vCPU AMD EPYC), so every
result JSON names the CPU. No JAX import: the PyTorch worker of finetune_speed.py uses it too."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The `model name` line of /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe(accelerator: str = "cpu") -> str:
    """e.g. "x86_64 2 cores (AMD EPYC), cpu"."""
    return f"{platform.machine()} {os.cpu_count()} cores ({cpu_model()}), {accelerator}"
