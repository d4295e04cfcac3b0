"""`zett train`: set up a hypernetwork run, then the generic loop (`zett.training.run_loop`) over its
batch iterator, with hooks for metrics, validation and checkpoints."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from zett.assets import resolve
from zett.config import check_resume, save_config
from zett.hypernet.batch import ANCHOR_STEP, identity_batch
from zett.hypernet.checkpoint import save_hypernet
from zett.hypernet.curves import plot_validation, validation_curves
from zett.hypernet.data import IDENTITY, TrainBatches, training_languages
from zett.hypernet.global_batch import data_parts
from zett.hypernet.model import Hypernet, fit_output_rescalers
from zett.hypernet.optim import OptimConfig, learning_rate_schedule, make_optimizer
from zett.hypernet.provenance import run_record
from zett.hypernet.step import train_step
from zett.hypernet.train_config import TrainConfig
from zett.hypernet.validation import validate
from zett.models import LanguageModel, build_model, load_pretrained
from zett.models.decoder import tiny_config
from zett.parallel import make_mesh, shard_state
from zett.tokenization import LoadedTokenizer, canonicalize, load_tokenizer
from zett.training import (
    Checkpoint,
    Hook,
    LogMetrics,
    MetricsLog,
    StepInfo,
    StepInput,
    TrainCheckpointer,
    TrainState,
    Validate,
    keeping_checkpoints,
    run_loop,
)


def load_base(cfg: TrainConfig) -> tuple[LanguageModel, LoadedTokenizer]:
    """(frozen base model, source tokenizer) from `cfg.base_model` ("tiny" = random decoder)."""
    if cfg.base_model == "tiny":
        if cfg.source_tokenizer is None:
            raise ValueError(
                "base_model: tiny needs source_tokenizer (a tokenizer path) to define its "
                "vocabulary"
            )
        tok = load_tokenizer(resolve(cfg.source_tokenizer))
        mcfg = cfg.model or tiny_config(
            vocab_size=tok.tokenizer.get_vocab_size(with_added_tokens=True)
        )
        return build_model(mcfg, seed=cfg.seed), tok
    model = load_pretrained(resolve(cfg.base_model))
    return model, load_tokenizer(resolve(cfg.source_tokenizer or cfg.base_model))


def build_hypernet(
    cfg: TrainConfig,
    base: LanguageModel,
    specials: np.ndarray,
    languages: tuple[str, ...] = (),
) -> Hypernet:
    """A fresh hypernetwork around `base`'s embeddings, its output rescalers fitted to random source
    tokens; `languages`: the rows of its language embedding (`training_languages`)."""
    tied = base.tied
    e_in = np.asarray(base.get_input_embeddings())
    hcfg = replace(
        cfg.hypernet.for_model(e_in.shape[1]),
        predict_output_embeddings=not tied,
        surface_maxlen=cfg.collator.surface_maxlen,
        predict_bias=base.get_output_bias() is not None,
        languages=tuple(languages),
    )
    e_out = None if tied else np.asarray(base.get_output_embeddings())
    source_bias = base.get_output_bias()
    hypernet = Hypernet(
        hcfg,
        e_in,
        e_out,
        None if source_bias is None else np.asarray(source_bias),
        rngs=nnx.Rngs(cfg.seed),
    )
    anchors = identity_batch(e_in.shape[0], specials, 4096, ANCHOR_STEP, cfg.seed)
    a_ids = np.asarray(anchors.source_ids)
    fit_output_rescalers(
        hypernet,
        np.asarray(anchors.surface_ids),
        np.asarray(anchors.surface_lengths),
        e_in[a_ids],
        None if e_out is None else e_out[a_ids],
    )
    return hypernet


def hypernet_step(state: TrainState, item: StepInput, aux_weight: float) -> dict[str, jax.Array]:
    """The loop's step function: one `train_step` of `state.model` (the hypernet) through the frozen
    base model."""
    return train_step(
        state.model,
        state.optimizer,
        state.frozen,
        item.batch,
        aux_weight,
        identity=item.phase == IDENTITY,
    )


def train(
    cfg: TrainConfig,
    max_steps: int | None = None,
    progress: bool = True,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Trains (or resumes) the run in `cfg.workdir`; returns the last logged metrics.

    `max_steps` / `max_seconds` stop early (a checkpoint is written) without changing the schedule.
    """
    started = time.monotonic()
    workdir = Path(cfg.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    main_process = jax.process_index() == 0
    languages = training_languages(
        cfg
    )  # fails on a bad language setting before anything is written
    check_resume(cfg, workdir)
    if main_process:
        save_config(cfg, workdir / "config.yaml")
    base, tok = load_base(cfg)
    specials = np.asarray(canonicalize(tok).special_ids, np.int64)
    hypernet = build_hypernet(cfg, base, specials, languages)
    optimizer = nnx.Optimizer(hypernet, make_optimizer(cfg.optim), wrt=nnx.Param)
    # SPMD: parameters placed by their logical axes, batches split over the mesh (no-op on one
    # device); placed before restoring so a multi-host checkpoint restores straight into its shards
    mesh = make_mesh(cfg.mesh)
    for module in (base, hypernet, optimizer):
        shard_state(module, mesh, cfg.mesh.rules)
    parts = data_parts(cfg.collator.batch_size, cfg.data_parts)
    ckpt = TrainCheckpointer(workdir, keep=cfg.keep_checkpoints)
    start, data_state = 0, None
    restored = ckpt.restore_latest(hypernet, optimizer)
    if restored is not None:
        start, data_state = restored
        if main_process:
            print(f"resuming {workdir} from step {start}")
    total = cfg.total_steps if max_steps is None else min(cfg.total_steps, max_steps)

    state = TrainState(hypernet, optimizer, frozen=base)
    batches = TrainBatches(
        cfg, tok, hypernet.source_vocab_size, specials, mesh, parts, start, data_state, languages
    )
    log = MetricsLog(
        workdir,
        resume_step=start,
        tensorboard=cfg.tensorboard,
        wandb_project=cfg.wandb_project if cfg.wandb else None,
    )
    metrics = LogMetrics(log, cfg.log_every, extra=partial(_learning_rate, cfg.optim))
    hooks: list[Hook] = [metrics]
    if cfg.validates:  # every process validates (see zett.hypernet.validation)
        evaluate = partial(_validate, cfg, tok)
        hooks.append(Validate(log, cfg.eval_every, evaluate, when=_main_phase))
    hooks.append(Checkpoint(ckpt, cfg.save_every, data_state=batches.state))
    try:
        hint = f"fix the cause (e.g. a lower optim.lr; checkpoints every {cfg.save_every} steps)"
        with keeping_checkpoints(ckpt, hint=hint):
            run_loop(
                state,
                partial(hypernet_step, aux_weight=cfg.aux_weight),
                batches,
                start=start,
                total=total,
                hooks=hooks,
                max_consecutive_nonfinite=cfg.optim.max_consecutive_nonfinite,
                deadline=None if max_seconds is None else started + max_seconds,
                progress=progress and main_process,
            )
    finally:
        batches.close()

    if jax.process_count() > 1:  # every process joins the gather; process 0 alone writes
        shard_state(hypernet, mesh, rules=())
    if main_process:
        save_hypernet(
            workdir / "hypernet",
            hypernet,
            base_model=cfg.base_model,
            source_tokenizer=cfg.source_tokenizer or cfg.base_model,
            extra=run_record(cfg, int(optimizer.step[...]), workdir),
        )
        if cfg.validates and validation_curves(workdir / "metrics.jsonl"):
            plot_validation(workdir)  # workdir/validation.png
    return metrics.last


def _learning_rate(optim: OptimConfig, info: StepInfo) -> dict[str, float]:
    return {"lr": float(learning_rate_schedule(optim)(int(info.state.optimizer.step[...])))}


def _validate(cfg: TrainConfig, tok: LoadedTokenizer, state: TrainState) -> dict[str, float]:
    return validate(cfg, state.model, state.frozen, tok)


def _main_phase(info: StepInfo) -> bool:
    return info.phase != IDENTITY
