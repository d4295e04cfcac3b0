"""Training checkpoints (orbax): a model's parameters, its optimizer, the step and the data iterator's
state, so that a killed run resumes exactly."""

from __future__ import annotations

import gc
import logging
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orbax.checkpoint as ocp
from flax import nnx

from zett.training.loop import TrainingError

CORRUPT_DIR = "checkpoints.corrupt"  # beside `checkpoints`: steps that could not be restored


class CheckpointRestoreError(ValueError):
    """No checkpoint of the work directory can be restored."""


class CheckpointWriteError(TrainingError):
    """Writing a checkpoint failed; the message already says which checkpoint is kept."""


class TrainCheckpointer:
    """Saves into `workdir/checkpoints`, keeping the newest `keep`; `restore_latest` resumes a killed
    run exactly, from the newest checkpoint that restores (a truncated or corrupt newer one is moved
    to `workdir/checkpoints.corrupt`, with a message). A save interrupted part-way (Ctrl-C, a kill)
    leaves only an orbax temporary directory, removed on the next start. In a multi-host run every
    process calls both with its own shards."""

    def __init__(self, workdir: str | Path, keep: int = 2):
        self.directory = Path(workdir).absolute() / "checkpoints"
        self.keep = keep
        self.manager = self._open()

    def _open(self) -> ocp.CheckpointManager:
        return ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=self.keep, create=True, cleanup_tmp_directories=True
            ),
        )

    @property
    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(
        self, step: int, model: nnx.Module, optimizer: nnx.Optimizer, data_state: dict[str, Any]
    ) -> None:
        """A failed write (a full disk) removes what it left half-written and raises
        `CheckpointWriteError`, keeping the last good checkpoint. Ctrl-C/SIGTERM while orbax
        finalises is raised as it is and reported once by the CLI (orbax would also log it with its
        traceback)."""
        try:
            with _absl_silent():
                self.manager.save(
                    step,
                    args=ocp.args.Composite(
                        params=ocp.args.StandardSave(nnx.state(model, nnx.Param)),
                        optimizer=ocp.args.StandardSave(nnx.state(optimizer)),
                        data=ocp.args.JsonSave(data_state),
                    ),
                )
                self.manager.wait_until_finished()
        except Exception as e:
            self._remove_partial(step)
            last = self.latest_step
            kept = (
                f"the last good checkpoint (step {last}) is kept"
                if last is not None
                else "there is no earlier checkpoint"
            )
            raise CheckpointWriteError(
                f"writing the checkpoint of step {step} into {self.directory} failed "
                f"({type(e).__name__}: {e}); {kept}. Free space and run the same command again to "
                "resume."
            ) from e

    def _remove_partial(self, step: int) -> None:
        finished = {str(s) for s in self.manager.all_steps()}
        for partial in [self.directory / str(step), *self.directory.glob(f"{step}.*")]:
            if partial.name not in finished:
                shutil.rmtree(partial, ignore_errors=True)

    def restore_latest(
        self, model: nnx.Module, optimizer: nnx.Optimizer
    ) -> tuple[int, dict[str, Any]] | None:
        """Loads the newest checkpoint that restores into `model`/`optimizer` in place → (step,
        data_state); None when there is none. Newer checkpoints that fail to restore are moved aside
        (and said so on stderr); when none restores, `CheckpointRestoreError` lists why."""
        steps = sorted(self.manager.all_steps(), reverse=True)
        failed: list[tuple[int, str]] = []
        for step in steps:
            try:
                with _quiet():
                    params, opt_state, data = self._restore(step, model, optimizer)
            except Exception as e:  # truncated/corrupt files surface as many types (TensorStore)
                why = _reason(e)
                failed.append((step, why))
                _drop_orphaned_read_reports(self.directory / str(step))
                _say(f"checkpoint step {step} in {self.directory} cannot be restored ({why})")
                continue
            if failed:
                moved = self._set_aside([s for s, _ in failed])
                _say(
                    f"resuming from step {step}, the newest intact checkpoint; the unreadable "
                    f"step(s) {[s for s, _ in failed]} were moved to {moved}"
                )
            nnx.update(model, params)
            nnx.update(optimizer, opt_state)
            return step, data
        if failed:
            raise CheckpointRestoreError(
                f"{self.directory}: no checkpoint can be restored ("
                + "; ".join(f"step {s}: {w}" for s, w in failed)
                + "); move the directory away to start the run afresh"
            )
        return None

    def _restore(self, step: int, model: nnx.Module, optimizer: nnx.Optimizer):
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(
                params=ocp.args.StandardRestore(nnx.state(model, nnx.Param)),
                optimizer=ocp.args.StandardRestore(nnx.state(optimizer)),
                data=ocp.args.JsonRestore(),
            ),
        )
        return restored["params"], restored["optimizer"], dict(restored["data"])

    def _set_aside(self, steps: list[int]) -> Path:
        """Moves step directories out of the manager's sight (it would refuse to save those steps
        again) into `checkpoints.corrupt/`, then reopens the manager."""
        self.manager.close()
        dest = self.directory.parent / CORRUPT_DIR
        dest.mkdir(exist_ok=True)
        for step in steps:
            src = self.directory / str(step)
            target = dest / str(step)
            if target.exists():
                shutil.rmtree(target)
            if src.exists():
                src.rename(target)
        self.manager = self._open()
        return dest

    def close(self) -> None:
        self.manager.close()


def _say(msg: str) -> None:
    print(f"zett: {msg}", file=sys.stderr, flush=True)


def _reason(e: Exception) -> str:
    """The first line of an orbax/TensorStore error, without its repr of the whole store spec."""
    text = (str(e).strip().splitlines() or [""])[0].split(" See full TensorStore details")[0]
    return f"{type(e).__name__}: {text[:200]}"


@contextmanager
def _quiet() -> Iterator[None]:
    """Keeps a failed restore to its one exception: orbax also logs it (absl) and leaves sibling
    reads failing in coroutines that Python reports, traceback and all, when they are collected."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        with _absl_silent():
            try:
                yield
            finally:
                gc.collect()  # the failed coroutines go now, while their reports are silenced
    finally:
        sys.unraisablehook = hook


class _OrphanedReadFilter(logging.Filter):
    """Drops asyncio's "exception was never retrieved" reports of reads under `path`."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = str(path)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("was never retrieved" in message and self.path in message)


def _drop_orphaned_read_reports(step_dir: Path) -> None:
    """A failed restore leaves orbax's sibling reads of the same step failing in asyncio tasks on
    orbax's own thread; when one is collected after `_quiet` ended, asyncio logs it with a traceback.
    Those reports say nothing the one-line message has not, so they are dropped for this step."""
    logging.getLogger("asyncio").addFilter(_OrphanedReadFilter(step_dir))


@contextmanager
def _absl_silent() -> Iterator[None]:
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        absl.setLevel(level)


@contextmanager
def keeping_checkpoints(ckpt: TrainCheckpointer, hint: str = "fix the cause") -> Iterator[None]:
    """A training error names the last good checkpoint, what a user resumes from (or says there is
    none), with `hint` (what to change first); the checkpointer is closed however the run ends. A
    `CheckpointWriteError` already says what is kept and passes unchanged."""
    try:
        yield
    except CheckpointWriteError:
        raise
    except TrainingError as e:
        last = ckpt.latest_step
        raise TrainingError(
            f"{e} The last good checkpoint (step {last}) is kept in {ckpt.directory}; {hint} and "
            "run the same command to resume from it"
            if last is not None
            else f"{e} No checkpoint was saved before it; {hint} and start again"
        ) from None
    finally:
        ckpt.close()
