"""The metrics log of a run: JSONL always; TensorBoard when available; wandb when asked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax


class MetricsLog:
    """`workdir/metrics.jsonl`, one `{"step": …, **metrics}` object per line.

    In a multi-host run process 0 logs as usual; every other process writes only its own
    `metrics.process<i>.jsonl`, which shows whether the hosts train in lockstep. A run resumed at
    `resume_step` first drops the rows the interrupted run wrote after it (they are trained again), so
    every step appears once; TensorBoard purges its events after `resume_step` the same way."""

    def __init__(
        self,
        workdir: str | Path,
        resume_step: int = 0,
        tensorboard: bool = False,
        wandb_project: str | None = None,
    ):
        workdir = Path(workdir)
        index = jax.process_index()
        self.path = workdir / ("metrics.jsonl" if index == 0 else f"metrics.process{index}.jsonl")
        truncate_after(self.path, resume_step)
        self.tb = None
        if tensorboard and index == 0:
            try:
                from torch.utils.tensorboard import SummaryWriter  # optional dependency

                self.tb = SummaryWriter(str(workdir / "tensorboard"), purge_step=resume_step + 1)
            except Exception:
                self.tb = None
        self.wandb = None
        if wandb_project is not None and index == 0:
            import wandb

            self.wandb = wandb.init(project=wandb_project, dir=str(workdir), resume="allow")

    def write(self, step: int, metrics: dict[str, float | str]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **metrics}) + "\n")
        if self.tb is not None:  # scalars only: add_scalar refuses the "phase" string
            for k, v in metrics.items():
                if not isinstance(v, str):
                    self.tb.add_scalar(k, v, step)
        if self.wandb is not None:
            self.wandb.log(metrics, step=step)


def truncate_after(path: Path, step: int) -> None:
    """Drops the rows of a JSONL metrics file logged after `step` (temp file, then rename)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    keep = [line for line in lines if not line.strip() or json.loads(line)["step"] <= step]
    if len(keep) == len(lines):
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(keep))
    os.replace(tmp, path)
