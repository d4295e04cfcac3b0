"""n-shot hypernetwork training (ZeTT's n-shot setting): a trained hypernetwork keeps training on one
fixed target tokenizer — no tokenizer sampling: the text is encoded with the target tokenizer, the
vocabulary subset is the target vocabulary (or a subsample of it) — with the base model frozen and
an auxiliary loss that pulls the predictions toward the hypernetwork's own step-0 predictions. The
result is exported as the transferred model (`zett transfer` with the trained hypernetwork)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from zett.config import check_resume, save_config
from zett.eval import evaluate_bpb
from zett.finetune.batches import BlockBatches, LMBatch, Masking
from zett.finetune.blocks import Blocks, Template, encode_stream
from zett.finetune.checkpoint_io import load_model, resolve
from zett.finetune.config import FinetuneConfig
from zett.finetune.optim import lr_row, phase_optimizer
from zett.finetune.phases import (
    Phase,
    phase_hooks,
    plan_phases,
    resume,
    run_phases,
)
from zett.finetune.texts import load_split
from zett.hypernet import Hypernet, data_parts, load_hypernet, predict_embeddings, save_hypernet
from zett.hypernet.losses import lm_nll, predicted_tables
from zett.parallel import batch_field_sharding, make_mesh, shard_batch, shard_state
from zett.sampling import Batch
from zett.sampling.batch import IGNORE, TEXT_FIELDS
from zett.tokenization import (
    CanonicalVocab,
    Decomposer,
    canonicalize,
    load_tokenizer,
    map_specials,
    overlap,
)
from zett.training import (
    SKIPPED,
    Hook,
    LogMetrics,
    MetricsLog,
    StepInput,
    TrainCheckpointer,
    TrainState,
    keeping_checkpoints,
)
from zett.transfer import TransferConfig, transfer

NSHOT = "nshot"
LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class TargetRows:
    """Per target token (host arrays, [target_vocab, ...]): its surface form under the source
    tokenizer, the source special it copies (−1: predicted) and its verbatim source id (−1: none)."""

    surface_ids: np.ndarray
    surface_lengths: np.ndarray
    special_source_ids: np.ndarray
    source_ids: np.ndarray

    @classmethod
    def of(cls, decomposer: Decomposer, target: CanonicalVocab) -> TargetRows:
        forms = decomposer.decompose_vocab(target)
        n = forms.ids.shape[0]
        special = np.full(n, -1, np.int32)
        for t, s in map_specials(target, decomposer.canonical).items():
            special[t] = s
        source = np.full(n, -1, np.int32)
        shared = overlap(target, decomposer.canonical)
        source[shared.target_ids] = shared.source_ids
        lengths = np.where(special >= 0, 1, np.maximum(forms.lengths, 1)).astype(np.int32)
        ids = np.where((special >= 0)[:, None], 0, forms.ids).astype(np.int32)
        ids[special >= 0, 0] = special[special >= 0]
        return cls(ids, lengths, special, source)


@dataclass(frozen=True)
class NShotBatch:
    """A hypernetwork batch (`zett.sampling.Batch`, rows index the subset) and the target id of
    each subset row, `target_ids` [k] int32 (0 on padding rows): where the step-0 anchors are read."""

    batch: Batch
    target_ids: Any


jax.tree_util.register_dataclass(NShotBatch, data_fields=["batch", "target_ids"], meta_fields=[])


@dataclass(frozen=True)
class Anchors:
    """The step-0 predictions [target_vocab, embed] (output: None when tied) and their mean row
    norms, which scale the auxiliary loss."""

    input_embeddings: Any
    output_embeddings: Any
    input_norm: Any
    output_norm: Any


jax.tree_util.register_dataclass(
    Anchors,
    data_fields=["input_embeddings", "output_embeddings", "input_norm", "output_norm"],
    meta_fields=[],
)


def subset_batch(
    lm: LMBatch, rows_of: TargetRows, k: int | None, specials: np.ndarray, rng: np.random.Generator
) -> NShotBatch:
    """Host `LMBatch` in target ids → the batch over a vocabulary subset: the batch's tokens, the
    specials, then uniform negatives up to `k` rows (None: every target token)."""
    vocab = rows_of.surface_ids.shape[0]
    ids, labels = np.asarray(lm.input_ids), np.asarray(lm.labels)
    if k is None:
        rows = np.arange(vocab)
    else:
        used = np.union1d(np.union1d(ids.ravel(), labels[labels >= 0]), specials)
        if len(used) > k:
            raise ValueError(
                f"a batch uses {len(used)} distinct target tokens but nshot.n_subsample is {k}; "
                f"raise it (or null for the whole vocabulary)"
            )
        rest = np.setdiff1d(np.arange(vocab), used, assume_unique=True)
        negatives = rng.choice(rest, size=min(k - len(used), len(rest)), replace=False)
        rows = np.full(k, -1, np.int64)
        chosen = np.sort(np.concatenate([used, negatives]))
        rows[: len(chosen)] = chosen
    real = rows >= 0
    safe = np.where(real, rows, 0)
    inverse = np.full(vocab, -1, np.int64)
    inverse[rows[real]] = np.flatnonzero(real)
    batch = Batch(
        input_ids=inverse[ids].astype(np.int32),
        attention_mask=np.asarray(lm.attention_mask, np.int32),
        labels=np.where(labels >= 0, inverse[np.maximum(labels, 0)], IGNORE).astype(np.int32),
        surface_ids=np.where(real[:, None], rows_of.surface_ids[safe], 0).astype(np.int32),
        surface_lengths=np.where(real, rows_of.surface_lengths[safe], 0).astype(np.int32),
        special_source_ids=np.where(real, rows_of.special_source_ids[safe], -1).astype(np.int32),
        source_ids=np.where(real, rows_of.source_ids[safe], -1).astype(np.int32),
        vocab_mask=real,
        n_bytes=np.asarray(lm.n_bytes, np.int32),
    )
    return NShotBatch(batch, safe.astype(np.int32))


def place(nshot: NShotBatch, local_rows: slice, mesh, rules) -> NShotBatch:
    """The global host batch → on `mesh`; with several processes each contributes `local_rows` of
    the text fields (the subset is the same everywhere)."""
    if jax.process_count() == 1:
        return shard_batch(nshot, mesh, rules)
    n_proc = jax.process_count()

    def put(path, value):
        name = path[-1].name
        value = np.asarray(value)
        if name in TEXT_FIELDS:
            local = value[local_rows]
            shape = (local.shape[0] * n_proc, *local.shape[1:])
            sharding = batch_field_sharding(name, shape, mesh, rules)
            return jax.make_array_from_process_local_data(sharding, local, shape)
        sharding = batch_field_sharding(name, value.shape, mesh, rules)
        return jax.make_array_from_callback(value.shape, sharding, lambda i: value[i])

    return jax.tree_util.tree_map_with_path(put, nshot)


class NShotBatches:
    """The target-tokenized blocks as `StepInput`s of n-shot batches (batch t depends on
    (blocks, seed, t) only, so a resumed run sees the same batches)."""

    def __init__(self, blocks: BlockBatches, rows_of: TargetRows, k, specials, seed: int):
        self.blocks, self.rows_of, self.k, self.specials, self.seed = (
            blocks,
            rows_of,
            k,
            specials,
            seed,
        )

    def __iter__(self) -> NShotBatches:
        return self

    def __next__(self) -> StepInput:
        b = self.blocks
        step = b.step
        b.step += 1
        every = range(b.parts.count)  # the subset comes from the whole global batch
        lm = b.host_batch(step, every)
        rng = np.random.default_rng([self.seed, step, 23])
        batch = subset_batch(lm, self.rows_of, self.k, self.specials, rng)
        size = b.batch_size // b.parts.count
        local = slice(min(b.parts.local) * size, (max(b.parts.local) + 1) * size)
        tokens = int(np.asarray(lm.attention_mask)[local].sum())
        return StepInput(place(batch, local, b.mesh, b.rules), NSHOT, tokens=tokens)

    def state(self) -> dict[str, Any]:
        return self.blocks.state()


def _anchor_loss(pred, table, norm, target_ids, mask):
    sq = jnp.square(pred.astype(jnp.float32) - table[target_ids]).sum(-1)
    return (sq * mask).sum() / jnp.maximum(mask.sum(), 1.0) / norm


def _loss(hypernet: Hypernet, base, anchors: Anchors, nb: NShotBatch, aux_weight: float):
    batch = nb.batch
    e_in, e_out, bias = predicted_tables(hypernet, batch)
    nll, n = lm_nll(base, e_in, e_out, bias, batch)
    lm = nll / jnp.maximum(n, 1.0)
    mask = (batch.vocab_mask & (batch.special_source_ids < 0)).astype(jnp.float32)
    parts = [_anchor_loss(e_in, anchors.input_embeddings, anchors.input_norm, nb.target_ids, mask)]
    if e_out is not None:
        parts.append(
            _anchor_loss(e_out, anchors.output_embeddings, anchors.output_norm, nb.target_ids, mask)
        )
    aux = sum(parts) / len(parts)
    return lm + aux_weight * aux, {"lm_loss": lm, "aux_loss": aux, "nll_nats": nll, "n_targets": n}


@nnx.jit(donate_argnames=("hypernet", "optimizer"))
def nshot_update(hypernet, optimizer, base, anchors, nb: NShotBatch, aux_weight: float):
    """One update of the hypernetwork's parameters; the base model and the anchors are frozen."""
    grad_fn = nnx.value_and_grad(_loss, argnums=nnx.DiffState(0, nnx.Param), has_aux=True)
    (loss, metrics), grads = grad_fn(hypernet, base, anchors, nb, aux_weight)
    optimizer.update(hypernet, grads)
    grad_norm = optax.global_norm(grads)
    return dict(
        metrics,
        loss=loss,
        grad_norm=grad_norm,
        bits_per_byte=metrics["nll_nats"] / LOG2 / jnp.maximum(nb.batch.n_bytes.sum(), 1),
        **{SKIPPED: ~jnp.isfinite(loss) | ~jnp.isfinite(grad_norm)},
    )


def _anchors(pred) -> Anchors:
    def norm(t):
        return None if t is None else jnp.asarray(np.linalg.norm(t, axis=-1).mean(), jnp.float32)

    out = pred.output_embeddings
    return Anchors(
        jnp.asarray(pred.input_embeddings),
        None if out is None else jnp.asarray(out),
        norm(pred.input_embeddings),
        norm(out),
    )


def train_nshot(
    cfg: FinetuneConfig,
    max_steps: int | None = None,
    progress: bool = True,
    max_seconds: float | None = None,
):
    """`finetune` for `mode: hypernet`: trains (or resumes) the hypernetwork in `cfg.workdir`, then
    writes it to `<workdir>/hypernet` and the transferred model to `cfg.export_dir`."""
    from zett.finetune.run import FinetuneResult, mlm_masking

    started = time.monotonic()
    workdir = Path(cfg.workdir)
    check_resume(cfg, workdir)  # before loading anything
    main_process = jax.process_index() == 0
    base = load_model(cfg.model, None, cfg.seed, cfg.dtype)
    model = base.model
    e_out = None if model.tied else np.asarray(model.get_output_embeddings())
    bias = model.get_output_bias()
    hypernet = load_hypernet(
        resolve(cfg.nshot.hypernet),
        np.asarray(model.get_input_embeddings()),
        e_out,
        source_output_bias=None if bias is None else np.asarray(bias),
    )
    if hypernet.cfg.lang_embedding:
        raise ValueError(
            f"nshot.hypernet {cfg.nshot.hypernet}: was trained with language embeddings "
            f"({', '.join(hypernet.cfg.languages)}); n-shot training does not pass a language yet"
        )
    target_tok = load_tokenizer(resolve(cfg.tokenizer))
    target = canonicalize(target_tok)
    causal = model.config.is_causal
    if cfg.objective not in ("auto", "clm" if causal else "mlm"):
        raise ValueError(f"objective: {cfg.objective} does not fit {base.label}")
    masking: Masking | None = (
        None if causal else mlm_masking(cfg, target_tok, target, str(cfg.tokenizer))
    )
    decomposer = Decomposer(base.tokenizer, maxlen=hypernet.cfg.surface_maxlen)
    rows_of = TargetRows.of(decomposer, target)
    specials = np.asarray(target.special_ids, np.int64)
    texts = load_split(cfg.data, cfg.seed)
    template = Template.of(target_tok.tokenizer, target, causal)
    stream = encode_stream(
        target_tok.tokenizer,
        target,
        texts.train,
        template,
        texts.label,
        cfg.data.max_unk_fraction,
    )
    blocks = Blocks.pack(stream, cfg.data.block_size, template, causal)
    anchors = _anchors(predict_embeddings(hypernet, decomposer, target, progress=False))

    workdir.mkdir(parents=True, exist_ok=True)
    if main_process:
        save_config(cfg, workdir / "config.yaml")
    rules = cfg.mesh.rules
    mesh = make_mesh(cfg.mesh)
    for module in (model, hypernet):
        shard_state(module, mesh, rules)
    parts = data_parts(cfg.data.batch_size, cfg.data_parts)
    phases = plan_phases([(NSHOT, cfg.nshot.phase)])

    def make(phase: Phase):
        optimizer = nnx.Optimizer(hypernet, phase_optimizer(phase.config, cfg.optim), wrt=nnx.Param)
        shard_state(optimizer, mesh, rules)

        def step(state: TrainState, item: StepInput):
            base_model, anchor = state.frozen
            return nshot_update(
                state.model, state.optimizer, base_model, anchor, item.batch, cfg.nshot.aux_weight
            )

        return optimizer, step

    source_prefix = base.vocab.special("bos") or base.vocab.special("eos")

    def evaluate(module) -> dict[str, float]:

        pred = predict_embeddings(module, decomposer, target, progress=False)
        r = evaluate_bpb(
            model,
            target_tok.tokenizer,
            texts.validation,
            prefix_row=source_prefix.id,
            input_embeddings=pred.input_embeddings,
            output_embeddings=pred.output_embeddings,
            output_bias=pred.output_bias,
            special_ids=target.special_ids,
            progress=False,
        )
        return {"val/bits_per_byte": r.bits_per_byte, "val/bytes_per_token": r.bytes_per_token}

    validates = (
        bool(texts.validation) and causal and source_prefix is not None and jax.process_count() == 1
    )
    ckpt = TrainCheckpointer(workdir, keep=cfg.keep_checkpoints)
    last_val: dict[str, float] = {}
    metrics_hooks: list[LogMetrics] = []
    with keeping_checkpoints(ckpt):
        start, index, built, data_state = resume(ckpt, hypernet, phases, make)
        if data_state is not None and data_state.get("blocks") != blocks.fingerprint:
            raise ValueError(
                f"{workdir}: the checkpoint was trained on other text; use another workdir"
            )
        log = MetricsLog(
            workdir,
            resume_step=start,
            tensorboard=cfg.tensorboard,
            wandb_project=cfg.wandb_project if cfg.wandb else None,
        )
        if validates and start == 0:
            last_val = evaluate(hypernet)
            log.write(0, last_val)
        blocks_iter = BlockBatches(
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
        batches = NShotBatches(blocks_iter, rows_of, cfg.nshot.n_subsample, specials, cfg.seed)

        def validate(state) -> dict[str, float]:
            nonlocal last_val
            last_val = evaluate(state.model)
            return last_val

        def hooks_for(phase: Phase, state) -> list[Hook]:
            metrics, hooks = phase_hooks(
                phase,
                log,
                cfg.log_every,
                lr_row,
                validate if validates else None,
                cfg.eval_every,
                ckpt,
                cfg.save_every,
                batches.state,
            )
            metrics_hooks.append(metrics)
            return hooks

        reached = run_phases(
            hypernet,
            phases,
            make,
            batches,
            hooks_for,
            start=start,
            index=index,
            built=built,
            frozen=(model, anchors),
            max_steps=max_steps,
            deadline=None if max_seconds is None else started + max_seconds,
            max_consecutive_nonfinite=cfg.optim.max_consecutive_nonfinite,
            progress=progress and main_process,
        )
    out = None
    if reached == phases[-1].end:
        if jax.process_count() > 1:
            shard_state(hypernet, mesh, rules=())
        if main_process:
            hn_dir = save_hypernet(
                workdir / "hypernet",
                hypernet,
                base_model=str(cfg.model),
                source_tokenizer=str(cfg.model),
                extra={"nshot_target": str(cfg.tokenizer), "nshot_steps": reached},
            )
            out = transfer(
                TransferConfig(
                    model=str(cfg.model),
                    tokenizer=str(cfg.tokenizer),
                    out=cfg.export_dir,
                    hypernet=str(hn_dir),
                    overwrite=True,
                    progress=False,
                )
            )
    last = metrics_hooks[-1].last if metrics_hooks else {}
    return FinetuneResult(reached, out, dict(last), last_val)
