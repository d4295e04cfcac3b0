"""What an exported hypernet says about how it was made (`hypernet.json`, written by code only): the
run's config, its training data (corpus, content hash, the command that builds it), steps, the device
and the last validation results."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jax

from zett.config import to_dict
from zett.hypernet.train_config import DataConfig, TrainConfig

VALIDATION_PREFIXES = ("val/", "val_ood/", "identity/", "identity_out/")


def data_record(data: DataConfig) -> dict[str, Any]:
    """`zett.data.training_data` for a built corpus dir; for a text file its SHA-256; for anything
    else (a hub id) the name alone. `data.build_command` is recorded as the command."""
    from zett.data import training_data

    path = Path(data.train)
    if path.is_dir():
        return training_data(path, data.build_command)
    record: dict[str, Any] = {"corpus": data.train, "command": data.build_command}
    if path.is_file():
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        record["content_sha256"] = h.hexdigest()
    return record


def last_validation(metrics_path: Path) -> dict[str, Any] | None:
    """The last validation row of a run's metrics log ({"step", metrics...}), or None."""
    if not metrics_path.is_file():
        return None
    last = None
    for line in metrics_path.read_text().splitlines():
        row = json.loads(line)
        keys = [k for k in row if k.startswith(VALIDATION_PREFIXES)]
        if keys:
            last = {"step": row["step"], **{k: row[k] for k in keys}}
    return last


def run_record(cfg: TrainConfig, trained_steps: int, workdir: Path) -> dict[str, Any]:
    """The `hypernet.json` fields of a training run (see the module docstring)."""
    devices = jax.devices()
    return {
        "trained_steps": trained_steps,
        "scheduled_steps": cfg.total_steps,
        "trained_on": f"{len(devices)} × {devices[0].device_kind} ({jax.process_count()} process(es))",
        "training_data": data_record(cfg.data),
        "train_config": to_dict(cfg),
        "validation": last_validation(workdir / "metrics.jsonl"),
    }
