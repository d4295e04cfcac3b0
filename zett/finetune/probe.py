"""The short-training probe of the benchmark: a few dozen steps of (embeddings-only) training of a
model on new embedding tables, so initialisations that zero-shot loss misranks are compared after
training too. Deterministic: the same tokenizer, texts and seed give every method the same batches
in the same order, and the same tables give the same result."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.finetune.batches import BlockBatches, Masking
from zett.finetune.blocks import Blocks, Template, encode_stream
from zett.finetune.config import OptimConfig, PhaseConfig
from zett.finetune.optim import is_vocab_param, phase_optimizer
from zett.finetune.step import make_train_step
from zett.hypernet import DataParts
from zett.models import LanguageModel
from zett.parallel import MeshConfig, make_mesh
from zett.tokenization import canonicalize, load_tokenizer
from zett.training import StepInfo, TrainState, run_loop


@dataclass(frozen=True)
class ProbeConfig:
    """`steps` updates of `batch_size` blocks of `block_size` target tokens; AdamW at `lr` after
    `warmup_steps`, cosine decay to `lr * final_lr_fraction`. `embeddings_only`: the vocabulary
    tables train, the body stays frozen (otherwise every parameter trains, on a copy)."""

    steps: int = 50
    batch_size: int = 4
    block_size: int = 128
    lr: float = 3e-3
    warmup_steps: int = 5
    final_lr_fraction: float = 0.1
    grad_clip_norm: float = 1.0
    embeddings_only: bool = True
    seed: int = 0
    max_texts: int | None = None  # training texts used (the first ones; None = all)
    loss_chunk: int = 256

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.block_size < 4:
            raise ValueError("probe: steps, batch_size must be ≥ 1 and block_size ≥ 4")


@dataclass
class ProbeResult:
    """The trained tables ([vocab, embed]; output None when tied, bias None without one), the
    per-step training loss (nats/token) and bits per byte [steps], and what it cost (seconds:
    all of it, tokenizing and compiling included). `data` names
    the batches (text, tokenizer, block size, seed): equal for every method probed alike."""

    input_embeddings: np.ndarray
    output_embeddings: np.ndarray | None
    output_bias: np.ndarray | None
    losses: np.ndarray
    bits_per_byte: np.ndarray
    step_seconds: np.ndarray  # [steps] wall time of each update (the first one compiles)
    tokens: int
    seconds: float
    data: str


def probe(
    model: LanguageModel,
    tokenizer: Any,
    tables: Any,
    texts: list[str],
    config: ProbeConfig = ProbeConfig(),
    progress: bool = False,
) -> ProbeResult:
    """Trains `model` on `tables` (anything with `input_embeddings` [vocab, embed] and, for untied
    heads, `output_embeddings`, optionally `output_bias`; e.g. `zett.heuristics.TargetEmbeddings`)
    over `texts` encoded with `tokenizer` (the target tokenizer: a path, alias, `tokenizers`
    object or `LoadedTokenizer`). `model` is left as it was."""
    started = time.perf_counter()
    tok = load_tokenizer(tokenizer)
    vocab = canonicalize(tok)
    e_in = np.asarray(tables.input_embeddings, np.float32)
    rows = e_in.shape[0]
    if tok.tokenizer.get_vocab_size(with_added_tokens=True) > rows:
        raise ValueError(
            f"probe: the tokenizer has {tok.tokenizer.get_vocab_size(with_added_tokens=True)} "
            f"tokens but the tables {rows} rows"
        )
    tuned = with_tables(model, tables)
    causal = model.config.is_causal
    masking = None
    if not causal:
        mask = vocab.special("mask")
        if mask is None:
            raise ValueError("probe: a masked LM needs a tokenizer with a mask token")
        masking = Masking(0.15, mask.id, tuple(vocab.special_ids), rows)
    template = Template.of(tok.tokenizer, vocab, causal)
    chosen = texts if config.max_texts is None else texts[: config.max_texts]
    stream = encode_stream(tok.tokenizer, vocab, chosen, template, "probe texts")
    blocks = Blocks.pack(stream, config.block_size, template, causal)

    phase = PhaseConfig(
        steps=config.steps,
        lr=config.lr,
        warmup_steps=config.warmup_steps,
        final_lr_fraction=config.final_lr_fraction,
    )
    trainable = is_vocab_param if config.embeddings_only else nnx.Param
    tx = phase_optimizer(phase, OptimConfig(grad_clip_norm=config.grad_clip_norm))
    optimizer = nnx.Optimizer(tuned, tx, wrt=trainable)
    step = make_train_step(trainable, causal, config.loss_chunk, donate=False)
    mesh = make_mesh(MeshConfig(), jax.devices()[:1])
    batches = BlockBatches(
        blocks,
        config.batch_size,
        config.seed,
        causal,
        masking,
        mesh,
        MeshConfig().rules,
        DataParts(1, (0,)),
        [("probe", config.steps)],
    )
    curve: list[dict[str, float]] = []
    seconds: list[float] = []
    tokens = 0

    def record(info: StepInfo) -> None:
        nonlocal tokens
        curve.append(info.metrics)
        seconds.append(info.step_s + info.data_s)
        tokens += info.tokens

    run_loop(
        TrainState(tuned, optimizer),
        step,
        batches,
        start=0,
        total=config.steps,
        hooks=[record],
        progress=progress,
        desc="probe",
    )
    out = None if tuned.tied else np.asarray(tuned.get_output_embeddings())
    bias = tuned.get_output_bias()
    return ProbeResult(
        input_embeddings=np.asarray(tuned.get_input_embeddings()),
        output_embeddings=out,
        output_bias=None if bias is None else np.asarray(bias),
        losses=np.asarray([m["loss"] for m in curve], np.float32),
        bits_per_byte=np.asarray([m["bits_per_byte"] for m in curve], np.float32),
        step_seconds=np.asarray(seconds),
        tokens=tokens,
        seconds=time.perf_counter() - started,
        data=f"{blocks.fingerprint}/{config.batch_size}/{config.seed}",
    )


def with_tables(model: LanguageModel, tables: Any) -> LanguageModel:
    """A copy of `model` (new variables over the same arrays, so training it leaves `model` as it
    was) reading `tables` as its vocabulary."""
    e_in = np.asarray(tables.input_embeddings, np.float32)
    e_out = getattr(tables, "output_embeddings", None)
    bias = getattr(tables, "output_bias", None)
    if model.tied and e_out is not None:
        raise ValueError("the model ties its embeddings: pass no separate output embeddings")
    if not model.tied and e_out is None:
        raise ValueError("the model has an untied LM head: output embeddings are needed")
    tuned = nnx.clone(model)
    tuned.set_input_embeddings(jnp.asarray(e_in))
    if e_out is not None:
        tuned.set_output_embeddings(jnp.asarray(np.asarray(e_out, np.float32)))
    if model.get_output_bias() is not None:
        if bias is None:
            raise ValueError("the model has an output bias: the tables need one")
        tuned.set_output_bias(jnp.asarray(np.asarray(bias, np.float32)))
    object.__setattr__(tuned, "config", tuned.config.replace(vocab_size=e_in.shape[0]))
    return tuned
