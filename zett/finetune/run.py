"""`zett finetune`: continue training a checkpoint on text under its tokenizer — embeddings first
(optionally only the new rows), then every parameter — and export it as an HF checkpoint."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from zett.config import check_resume, save_config
from zett.eval import evaluate_bpb
from zett.finetune.batches import BlockBatches, Masking, make_rows
from zett.finetune.blocks import Blocks, Template, encode_stream
from zett.finetune.checkpoint_io import LoadedModel, export_model, load_model
from zett.finetune.checks import check_vocab, new_row_mask
from zett.finetune.config import FinetuneConfig
from zett.finetune.optim import is_vocab_param, lr_row, phase_optimizer, vocab_param_keys
from zett.finetune.phases import (
    Phase,
    phase_hooks,
    plan_phases,
    resume,
    run_phases,
)
from zett.finetune.step import make_eval_step, make_train_step
from zett.finetune.texts import load_split
from zett.hypernet import data_parts
from zett.parallel import make_mesh, shard_state
from zett.training import Hook, LogMetrics, MetricsLog, TrainCheckpointer, keeping_checkpoints

EMBEDDINGS, FULL = "embeddings", "full"


@dataclass
class FinetuneResult:
    """step: updates made (restored ones included); out: the exported checkpoint (None until the
    last phase finished); metrics: the last logged row; validation: the last validation row."""

    step: int
    out: Path | None
    metrics: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)


def resolve_objective(cfg: FinetuneConfig, loaded: LoadedModel) -> bool:
    """True for a causal LM objective."""
    causal = loaded.model.config.is_causal
    if cfg.objective == "auto":
        return causal
    if (cfg.objective == "clm") != causal:
        kind = "a decoder (causal LM)" if causal else "an encoder (masked LM)"
        raise ValueError(f"objective: {cfg.objective} does not fit {loaded.label}: it is {kind}")
    return causal


def mlm_masking(cfg: FinetuneConfig, tokenizer, vocab, label: str) -> Masking:
    """BERT's corruption with the tokenizer's mask token."""
    mask = vocab.special("mask")
    if mask is None:
        raise ValueError(f"{label}: masked-LM training needs a mask token; the tokenizer has none")
    return Masking(
        cfg.mlm_probability,
        mask.id,
        tuple(vocab.special_ids),
        tokenizer.tokenizer.get_vocab_size(with_added_tokens=True),
    )


class Validation:
    """Held-out metrics of the model: bits per byte (`zett.eval.evaluate_bpb`, causal LMs), or the
    masked-LM loss on held-out blocks masked once with a fixed seed (encoders)."""

    def __init__(self, cfg: FinetuneConfig, loaded: LoadedModel, texts: list[str], causal: bool):
        self.loaded, self.texts, self.causal = loaded, texts, causal
        vocab = loaded.vocab
        prefix = vocab.special("bos") or vocab.special("eos")
        self.prefix = None if prefix is None else prefix.id
        self.batch_size = cfg.data.batch_size
        if not causal and texts:
            template = Template.of(loaded.tokenizer.tokenizer, vocab, causal)
            stream = encode_stream(
                loaded.tokenizer.tokenizer, vocab, texts, template, "validation", 1.0
            )
            blocks = Blocks.pack(stream, cfg.data.block_size, template, causal)
            rows = np.arange(min(len(blocks), 8 * self.batch_size))
            rng = np.random.default_rng([cfg.seed, 19])
            masking = mlm_masking(cfg, loaded.tokenizer, vocab, loaded.label)
            self.batches = [
                make_rows(blocks, rows[i : i + self.batch_size], False, masking, rng)
                for i in range(0, len(rows), self.batch_size)
            ]
            self.eval_step = make_eval_step(False, cfg.loss_chunk)

    @property
    def enabled(self) -> bool:
        return bool(self.texts) and (not self.causal or self.prefix is not None)

    def __call__(self, model: nnx.Module) -> dict[str, float]:
        if self.causal:
            r = evaluate_bpb(
                model,
                self.loaded.tokenizer.tokenizer,
                self.texts,
                prefix_row=self.prefix,
                special_ids=self.loaded.vocab.special_ids,
                progress=False,
            )
            return {"val/bits_per_byte": r.bits_per_byte, "val/bytes_per_token": r.bytes_per_token}
        nll = count = 0.0
        for batch in self.batches:
            out = jax.device_get(self.eval_step(model, batch))
            nll += float(out["nll_nats"])
            count += float(out["n_targets"])
        return {"val/mlm_loss": nll / max(count, 1.0)}


def finetune(
    cfg: FinetuneConfig,
    max_steps: int | None = None,
    progress: bool = True,
    max_seconds: float | None = None,
) -> FinetuneResult:
    """Trains (or resumes) the run in `cfg.workdir`; exports `cfg.export_dir` when the last phase
    ends. `max_steps` / `max_seconds` stop early (a checkpoint is written) without changing the
    schedule."""
    if cfg.mode == "hypernet":
        from zett.finetune.nshot import train_nshot

        return train_nshot(cfg, max_steps, progress, max_seconds)
    started = time.monotonic()
    workdir = Path(cfg.workdir)
    check_resume(cfg, workdir)  # before loading anything
    main_process = jax.process_index() == 0
    loaded = load_model(cfg.model, cfg.tokenizer, cfg.seed, cfg.dtype)
    model, vocab = loaded.model, loaded.vocab
    check_vocab(model, loaded.tokenizer, vocab, loaded.label)
    causal = resolve_objective(cfg, loaded)
    masking = None if causal else mlm_masking(cfg, loaded.tokenizer, vocab, loaded.label)
    new_rows = new_row_mask(cfg.new_rows, model.vocab_size, vocab)
    phases = plan_phases([(EMBEDDINGS, cfg.embeddings), (FULL, cfg.full)])
    for p in phases:
        if p.config.rows == "new" and new_rows is None:
            raise ValueError(f"{p.name}.rows: new needs new_rows (id ranges or the old tokenizer)")
    texts = load_split(cfg.data, cfg.seed)
    template = Template.of(loaded.tokenizer.tokenizer, vocab, causal)
    stream = encode_stream(
        loaded.tokenizer.tokenizer,
        vocab,
        texts.train,
        template,
        texts.label,
        cfg.data.max_unk_fraction,
    )
    blocks = Blocks.pack(stream, cfg.data.block_size, template, causal)

    workdir.mkdir(parents=True, exist_ok=True)
    if main_process:
        save_config(cfg, workdir / "config.yaml")
    rules = cfg.mesh.rules
    mesh = make_mesh(cfg.mesh)
    shard_state(model, mesh, rules)
    parts = data_parts(cfg.data.batch_size, cfg.data_parts)
    vocab_keys = vocab_param_keys(model)

    def make(phase: Phase):
        trainable = is_vocab_param if phase.name == EMBEDDINGS else nnx.Param
        tx = phase_optimizer(phase.config, cfg.optim, new_rows, vocab_keys)
        optimizer = nnx.Optimizer(model, tx, wrt=trainable)
        shard_state(optimizer, mesh, rules)
        return optimizer, make_train_step(trainable, causal, cfg.loss_chunk)

    ckpt = TrainCheckpointer(workdir, keep=cfg.keep_checkpoints)
    with keeping_checkpoints(ckpt):
        start, index, built, data_state = resume(ckpt, model, phases, make)
        if data_state is not None and data_state.get("blocks") != blocks.fingerprint:
            raise ValueError(
                f"{workdir}: the checkpoint was trained on other text or another tokenizer / "
                f"block_size than this config gives; use another workdir"
            )
        if start and main_process:
            print(f"resuming {workdir} from step {start}")
        log = MetricsLog(
            workdir,
            resume_step=start,
            tensorboard=cfg.tensorboard,
            wandb_project=cfg.wandb_project if cfg.wandb else None,
        )
        validation = Validation(cfg, loaded, texts.validation, causal)
        validates = validation.enabled and jax.process_count() == 1
        last_val: dict[str, float] = {}
        if validates and start == 0:
            last_val = validation(model)
            log.write(0, last_val)
        batches = BlockBatches(
            blocks,
            cfg.data.batch_size,
            cfg.seed,
            causal,
            masking,
            mesh,
            rules,
            parts,
            [(p.name, p.end) for p in phases],
            start,
        )
        metrics_hooks: list[LogMetrics] = []

        def evaluate(state) -> dict[str, float]:
            nonlocal last_val
            last_val = validation(state.model)
            return last_val

        def hooks_for(phase: Phase, state) -> list[Hook]:
            metrics, hooks = phase_hooks(
                phase,
                log,
                cfg.log_every,
                lr_row,
                evaluate if validates else None,
                cfg.eval_every,
                ckpt,
                cfg.save_every,
                batches.state,
            )
            metrics_hooks.append(metrics)
            return hooks

        reached = run_phases(
            model,
            phases,
            make,
            batches,
            hooks_for,
            start=start,
            index=index,
            built=built,
            max_steps=max_steps,
            deadline=None if max_seconds is None else started + max_seconds,
            max_consecutive_nonfinite=cfg.optim.max_consecutive_nonfinite,
            progress=progress and main_process,
        )
    out = None
    if reached == phases[-1].end:
        if jax.process_count() > 1:  # every process joins the gather; process 0 alone writes
            shard_state(model, mesh, rules=())
        if main_process:
            out = export_model(
                loaded,
                cfg.export_dir,
                {
                    "method": "finetune",
                    "base_model": str(cfg.model),
                    "phases": {p.name: p.config.steps for p in phases},
                    "new_rows": cfg.new_rows or None,
                    "objective": "clm" if causal else "mlm",
                    "train_texts": texts.label,
                    "train_tokens": int(len(stream.ids)),
                    "seed": cfg.seed,
                },
            )
    last = metrics_hooks[-1].last if metrics_hooks else {}
    return FinetuneResult(reached, out, dict(last), last_val)
