"""Training checkpoints (orbax): a model's parameters, its optimizer, the step and the data iterator's
state, so that a killed run resumes exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orbax.checkpoint as ocp
from flax import nnx


class TrainCheckpointer:
    """Saves into `workdir/checkpoints`, keeping the newest `keep`; `restore_latest` resumes a killed
    run exactly. In a multi-host run every process calls both with its own shards."""

    def __init__(self, workdir: str | Path, keep: int = 2):
        self.directory = Path(workdir).absolute() / "checkpoints"
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        )

    @property
    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(
        self, step: int, model: nnx.Module, optimizer: nnx.Optimizer, data_state: dict[str, Any]
    ) -> None:
        self.manager.save(
            step,
            args=ocp.args.Composite(
                params=ocp.args.StandardSave(nnx.state(model, nnx.Param)),
                optimizer=ocp.args.StandardSave(nnx.state(optimizer)),
                data=ocp.args.JsonSave(data_state),
            ),
        )
        self.manager.wait_until_finished()

    def restore_latest(
        self, model: nnx.Module, optimizer: nnx.Optimizer
    ) -> tuple[int, dict[str, Any]] | None:
        """Loads the newest checkpoint into `model`/`optimizer` in place → (step, data_state)."""
        step = self.manager.latest_step()
        if step is None:
            return None
        params = nnx.state(model, nnx.Param)
        opt_state = nnx.state(optimizer)
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(
                params=ocp.args.StandardRestore(params),
                optimizer=ocp.args.StandardRestore(opt_state),
                data=ocp.args.JsonRestore(),
            ),
        )
        nnx.update(model, restored["params"])
        nnx.update(optimizer, restored["optimizer"])
        return step, dict(restored["data"])

    def close(self) -> None:
        self.manager.close()
