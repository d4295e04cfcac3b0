"""The training loop: a plain Python loop around the jitted step, with logging, validation and
resume."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from zett.config import save_config
from zett.hypernet.batch import HypernetBatch
from zett.hypernet.checkpoint import TrainCheckpointer, save_hypernet
from zett.hypernet.global_batch import DataParts, data_parts, global_batch
from zett.hypernet.model import Hypernet, fit_output_rescalers
from zett.hypernet.optim import make_optimizer
from zett.hypernet.step import train_step
from zett.hypernet.train_config import TrainConfig
from zett.parallel import make_mesh, shard_batch, shard_state


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. too many non-finite steps in a row); the last good checkpoint is
    kept."""


@dataclass(frozen=True)
class CorpusTexts:
    """A `datasets.Dataset` with `text`/`lang` columns as the collator's random-access `TextSource`."""

    dataset: Any
    languages: tuple[str, ...]
    lang_index: tuple[int, ...]

    @classmethod
    def load(cls, path: str, split: str = "train", langs: tuple[str, ...] = ()) -> CorpusTexts:
        from zett.data import load_texts

        ds = load_texts(path, split=split, langs=list(langs) or None)
        if len(ds) == 0:
            raise ValueError(f"{path} ({split}) has no texts for languages {langs or 'any'}")
        names = tuple(sorted(set(ds["lang"])))
        index = {n: i for i, n in enumerate(names)}
        return cls(ds, names, tuple(index[lang] for lang in ds["lang"]))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[str, int]:
        return self.dataset[int(i)]["text"], self.lang_index[int(i)]


def load_base(cfg: TrainConfig):
    """(frozen base model, source tokenizer spec) from `cfg.base_model` ("tiny" = random decoder)."""
    from zett.assets import resolve
    from zett.models.registry import build_model
    from zett.tokenization import load_tokenizer

    if cfg.base_model == "tiny":
        if cfg.source_tokenizer is None:
            raise ValueError(
                "base_model: tiny needs source_tokenizer (a tokenizer path) to define its "
                "vocabulary"
            )
        tok = load_tokenizer(resolve(cfg.source_tokenizer))
        from zett.models.decoder import tiny_config

        mcfg = cfg.model or tiny_config(
            vocab_size=tok.tokenizer.get_vocab_size(with_added_tokens=True)
        )
        return build_model(mcfg, seed=cfg.seed), tok
    from zett.models import load_pretrained

    model = load_pretrained(resolve(cfg.base_model))
    return model, load_tokenizer(resolve(cfg.source_tokenizer or cfg.base_model))


def identity_batch(
    source_vocab: int, specials: np.ndarray, k: int, step: int, seed: int
) -> HypernetBatch:
    """k random regular source tokens, each its own length-1 surface form (the warm-up phase); one
    surface position only, so the phase costs a seventh of a full-width batch."""
    rng = np.random.default_rng([seed, step, 7])
    regular = np.setdiff1d(np.arange(source_vocab), specials)
    return HypernetBatch.identity(
        rng.choice(regular, size=min(k, regular.size), replace=False).astype(np.int32), 1
    )


class MetricsLog:
    """JSONL always; TensorBoard when `tensorboardX`/`tensorboard` is importable; wandb when asked.

    In a multi-host run process 0 logs as usual; every other process writes only its own
    `metrics.process<i>.jsonl`, which shows whether the hosts train in lockstep."""

    def __init__(self, workdir: Path, cfg: TrainConfig):
        index = jax.process_index()
        self.path = workdir / ("metrics.jsonl" if index == 0 else f"metrics.process{index}.jsonl")
        self.tb = None
        if cfg.tensorboard and index == 0:
            try:
                from torch.utils.tensorboard import SummaryWriter  # optional dependency

                self.tb = SummaryWriter(str(workdir / "tensorboard"))
            except Exception:
                self.tb = None
        self.wandb = None
        if cfg.wandb and index == 0:
            import wandb

            self.wandb = wandb.init(project=cfg.wandb_project, dir=str(workdir), resume="allow")

    def write(self, step: int, metrics: dict[str, float]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **metrics}) + "\n")
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)
        if self.wandb is not None:
            self.wandb.log(metrics, step=step)


def train(
    cfg: TrainConfig,
    max_steps: int | None = None,
    progress: bool = True,
    max_seconds: float | None = None,
) -> dict[str, float]:
    """Trains (or resumes) the run in `cfg.workdir`; returns the last logged metrics.

    `max_steps` / `max_seconds` stop early (a checkpoint is written) without changing the schedule.
    """
    started = time.monotonic()
    from zett.sampling.pipeline import PipelineState
    from zett.tokenization import canonicalize

    workdir = Path(cfg.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    main_process = jax.process_index() == 0
    if main_process:
        save_config(cfg, workdir / "config.yaml")
    base, tok = load_base(cfg)
    source_vocab = canonicalize(tok)
    tied = base.tied
    hcfg = replace(
        cfg.hypernet,
        predict_output_embeddings=not tied,
        surface_maxlen=cfg.collator.surface_maxlen,
        predict_bias=base.get_output_bias() is not None,
    )
    e_in = np.asarray(base.get_input_embeddings())
    e_out = None if tied else np.asarray(base.get_output_embeddings())
    source_bias = base.get_output_bias()
    hypernet = Hypernet(
        hcfg,
        e_in,
        e_out,
        None if source_bias is None else np.asarray(source_bias),
        rngs=nnx.Rngs(cfg.seed),
    )
    specials = np.asarray(source_vocab.special_ids, np.int64)
    anchors = identity_batch(
        e_in.shape[0], specials, 4096, 1 << 30, cfg.seed
    )  # a step never trained on
    a_ids = np.asarray(anchors.source_ids)
    fit_output_rescalers(
        hypernet,
        np.asarray(anchors.surface_ids),
        np.asarray(anchors.surface_lengths),
        e_in[a_ids],
        None if e_out is None else e_out[a_ids],
    )
    optimizer = nnx.Optimizer(hypernet, make_optimizer(cfg.optim), wrt=nnx.Param)
    # SPMD: parameters placed by their logical axes, batches split over the mesh (no-op on one
    # device); placed before restoring so a multi-host checkpoint restores straight into its shards
    mesh = make_mesh(cfg.mesh)
    for module in (base, hypernet, optimizer):
        shard_state(module, mesh, cfg.mesh.rules)
    parts = data_parts(mesh, cfg.collator.batch_size, cfg.data_parts, cfg.mesh.rules)
    ckpt = TrainCheckpointer(workdir, keep=cfg.keep_checkpoints)
    start, data_state = 0, {"pipeline": PipelineState().to_dict()}
    restored = ckpt.restore_latest(hypernet, optimizer)
    if restored is not None:
        start, data_state = restored
        if main_process:
            print(f"resuming {workdir} from step {start}")
    total = cfg.total_steps if max_steps is None else min(cfg.total_steps, max_steps)
    log = MetricsLog(workdir, cfg)
    k = cfg.collator.n_subsample or cfg.collator.sampler.vocab_size
    streams: list = []
    validate_here = bool(cfg.validation_tokenizers)
    if validate_here and jax.process_count() > 1:
        validate_here = (
            False  # validation runs the hypernet on host arrays: not yet done across hosts
        )
        if main_process:
            print(
                "validation_tokenizers are skipped in multi-host runs; validate the exported "
                "hypernet instead"
            )
    nonfinite = 0
    last: dict[str, float] = {}
    window: list[dict[str, float]] = []
    t_data = t_step = 0.0
    n_tokens = 0
    bar = tqdm(
        range(start, total),
        initial=start,
        total=total,
        desc="train",
        disable=not (progress and main_process),
    )
    try:
        for step in bar:
            identity = step < cfg.optim.identity_steps
            t0 = time.perf_counter()
            if identity:
                batch = shard_batch(
                    identity_batch(e_in.shape[0], specials, k, step, cfg.seed), mesh, cfg.mesh.rules
                )
                local_tokens = 0
            else:
                if not streams:
                    texts = CorpusTexts.load(cfg.data.train, "train", cfg.data.langs)
                    streams = _open_streams(
                        cfg, parts, texts, tok, PipelineState.from_dict(data_state["pipeline"])
                    )
                local = [next(s) for s in streams]
                local_tokens = sum(int(b.attention_mask.sum()) for b in local)
                if parts.count == 1:
                    batch = shard_batch(HypernetBatch(**local[0].arrays()), mesh, cfg.mesh.rules)
                else:
                    batch = global_batch(
                        local,
                        parts,
                        mesh,
                        cfg.mesh.rules,
                        full_vocab=cfg.collator.n_subsample is None,
                    )
            t1 = time.perf_counter()
            metrics = train_step(
                hypernet, optimizer, base, batch, cfg.aux_weight, identity=identity
            )
            metrics = {k_: float(v) for k_, v in jax.device_get(metrics).items()}
            t2 = time.perf_counter()
            t_data += t1 - t0
            t_step += t2 - t1
            n_tokens += local_tokens  # this host's share
            if metrics.pop("skipped"):
                nonfinite += 1
                if nonfinite >= cfg.optim.max_consecutive_nonfinite:
                    raise TrainingError(
                        f"{nonfinite} non-finite steps in a row at step {step}; stopped. The last "
                        f"good "
                        f"checkpoint (step {ckpt.latest_step}) is kept in {ckpt.directory}"
                    )
                continue
            nonfinite = 0
            window.append(metrics)
            done = step + 1
            if done % cfg.log_every == 0 or done == total:
                last = {key: float(np.mean([m[key] for m in window])) for key in window[0]}
                last.update(
                    phase="identity" if identity else "main",
                    data_s=t_data / len(window),
                    step_s=t_step / len(window),
                    tokens_per_s=n_tokens / max(t_data + t_step, 1e-9),
                    lr=float(_current_lr(cfg, optimizer)),
                )
                log.write(done, last)
                bar.set_postfix(loss=f"{last['loss']:.3f}", bpb=f"{last['bits_per_byte']:.3f}")
                window, t_data, t_step, n_tokens = [], 0.0, 0.0, 0
            if validate_here and (done % cfg.eval_every == 0 or done == total) and not identity:
                log.write(done, validate(cfg, hypernet, base, tok, progress=False))
            out_of_time = max_seconds is not None and time.monotonic() - started > max_seconds
            if done % cfg.save_every == 0 or done == total or out_of_time:
                ckpt.save(
                    done, hypernet, optimizer, {"pipeline": _pipeline_state(streams, data_state)}
                )
            if out_of_time:
                print(f"time limit reached at step {done}; resume with the same command")
                total = done
                break
    finally:
        for s in streams:
            s.close()
        ckpt.close()
    if jax.process_count() > 1:  # every process joins the gather; process 0 alone writes
        shard_state(hypernet, mesh, rules=())
    if main_process:
        save_hypernet(
            workdir / "hypernet",
            hypernet,
            base_model=cfg.base_model,
            source_tokenizer=cfg.source_tokenizer or cfg.base_model,
            extra={"trained_steps": int(optimizer.step[...])},
        )
    return last


def _open_streams(cfg: TrainConfig, parts: DataParts, texts, tok, state) -> list:
    """One batch stream per part this process builds; each part's subset holds n_subsample / parts
    rows."""
    from zett.sampling.pipeline import BatchStream

    collator = cfg.collator
    if parts.count > 1 and collator.n_subsample is not None:
        if collator.n_subsample % parts.count:
            raise ValueError(
                f"collator.n_subsample {collator.n_subsample} must divide into {parts.count} data "
                f"parts"
            )
        collator = replace(collator, n_subsample=collator.n_subsample // parts.count)
    return [BatchStream(collator, texts, tok, state, part=(p, parts.count)) for p in parts.local]


def _pipeline_state(streams: list, data_state: dict) -> dict:
    return (
        streams[0].state().to_dict() if streams else data_state["pipeline"]
    )  # every part is at the same step


def _current_lr(cfg: TrainConfig, optimizer: nnx.Optimizer) -> float:
    from zett.hypernet.optim import learning_rate_schedule

    return learning_rate_schedule(cfg.optim)(int(optimizer.step[...]))


def validate(
    cfg: TrainConfig, hypernet: Hypernet, base, tok, progress: bool = False
) -> dict[str, float]:
    """Held-out bits per byte under each fixed validation tokenizer, with predicted embeddings."""
    from zett.eval.model_bpb import evaluate_bpb
    from zett.hypernet.predict import predict_embeddings
    from zett.tokenization import Decomposer, canonicalize, load_tokenizer

    texts = CorpusTexts.load(
        cfg.data.validation or cfg.data.train,
        "heldout" if cfg.data.validation is None else "train",
        cfg.data.langs,
    )
    sample = [texts[i][0] for i in range(min(cfg.data.validation_texts, len(texts)))]
    decomposer = Decomposer(tok, maxlen=hypernet.cfg.surface_maxlen)
    src = decomposer.canonical
    prefix = src.special("bos") or src.special("eos")
    out: dict[str, float] = {}
    for path in cfg.validation_tokenizers:
        target = load_tokenizer(path)
        vocab = canonicalize(target)
        pred = predict_embeddings(hypernet, decomposer, vocab, progress=progress)
        res = evaluate_bpb(
            base,
            target.tokenizer,
            sample,
            prefix_row=prefix.id if prefix else 0,
            input_embeddings=pred.input_embeddings,
            output_embeddings=pred.output_embeddings,
            output_bias=pred.output_bias,
            special_ids=vocab.special_ids,
            progress=progress,
        )
        out[f"val/{Path(path).name}/bits_per_byte"] = res.bits_per_byte
    return out
