"""The typed config of a fine-tuning run (`zett finetune CONFIG key=value ...`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from zett.parallel.distributed import DistributedConfig
from zett.parallel.mesh import MeshConfig


@dataclass(frozen=True)
class PhaseConfig:
    """One phase of training: `steps` updates with a fresh AdamW whose learning rate warms up
    linearly to `lr` over `warmup_steps`, then decays (cosine) to `lr * final_lr_fraction`.

    `rows`: "all" trains every vocabulary row; "new" only the rows `FinetuneConfig.new_rows` names
    (the others stay bit-identical through the phase). `new_lr_multiplier` scales the updates of
    the new rows (both via `zett.extend.optim.vocab_row_schedule`)."""

    steps: int = 0
    lr: float = 1e-4
    warmup_steps: int = 0
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.0
    rows: Literal["all", "new"] = "all"
    new_lr_multiplier: float = 1.0

    def __post_init__(self) -> None:
        if self.steps < 0 or self.warmup_steps < 0:
            raise ValueError(f"steps ({self.steps}) and warmup_steps must be ≥ 0")
        if self.lr <= 0 or not 0 <= self.final_lr_fraction <= 1:
            raise ValueError(
                f"lr must be > 0 (got {self.lr}) and final_lr_fraction in [0, 1] "
                f"(got {self.final_lr_fraction})"
            )
        if self.new_lr_multiplier < 0:
            raise ValueError(f"new_lr_multiplier must be ≥ 0, got {self.new_lr_multiplier}")


@dataclass(frozen=True)
class EmbeddingsPhase(PhaseConfig):
    """Phase 1: only the vocabulary tables train (defaults of the `embeddings` section)."""

    steps: int = 100
    lr: float = 1e-3
    warmup_steps: int = 10


@dataclass(frozen=True)
class FullPhase(PhaseConfig):
    """Phase 2: every parameter trains (defaults of the `full` section; off unless given steps)."""

    steps: int = 0
    lr: float = 5e-5
    warmup_steps: int = 10


@dataclass(frozen=True)
class NShotPhase(PhaseConfig):
    """The hypernetwork's phase in n-shot mode (defaults of `nshot.phase`)."""

    steps: int = 100
    lr: float = 3e-5
    warmup_steps: int = 10


@dataclass(frozen=True)
class OptimConfig:
    """What every phase's AdamW shares (weight decay only on matrices)."""

    b1: float = 0.9
    b2: float = 0.95
    eps: float = 1e-8
    grad_clip_norm: float = 1.0
    max_consecutive_nonfinite: int = 10  # skipped steps in a row before training stops


@dataclass(frozen=True)
class FinetuneData:
    """Training text (a corpus dir from `zett data build`, a .jsonl/.txt/.parquet file, or a hub id),
    packed into `batch_size` blocks of `block_size` tokens of the model's tokenizer.

    Validation text: `validation`, else the corpus' held-out split, else (a file) its last
    `validation_texts` texts, which are then left out of training."""

    train: str = "data/corpus"
    validation: str | None = None
    langs: tuple[str, ...] = ()  # empty = every language of the corpus
    max_texts: int | None = None  # training texts read (None = all)
    validation_texts: int = 32
    block_size: int = 128
    batch_size: int = 8
    max_unk_fraction: float = 0.5  # training text whose bytes are more <unk> than this: an error

    def __post_init__(self) -> None:
        if self.block_size < 4 or self.batch_size < 1:
            raise ValueError(
                f"data.block_size must be ≥ 4 and data.batch_size ≥ 1, got {self.block_size}, "
                f"{self.batch_size}"
            )
        if self.validation_texts < 0:
            raise ValueError(f"data.validation_texts must be ≥ 0, got {self.validation_texts}")


@dataclass(frozen=True)
class NShotConfig:
    """The hypernetwork mode (`mode: hypernet`, ZeTT's n-shot setting): `hypernet` (a `zett train`
    output) keeps training on the one target tokenizer `FinetuneConfig.tokenizer`, with the base
    model `FinetuneConfig.model` frozen; its loss adds `aux_weight` × the distance of the predicted
    embeddings to the hypernet's own step-0 predictions. `n_subsample`: vocabulary rows per batch
    (the batch's tokens, the specials and uniform negatives; None = the whole target vocabulary)."""

    hypernet: str | None = None
    phase: NShotPhase = field(default_factory=NShotPhase)
    aux_weight: float = 0.5
    n_subsample: int | None = 4096


@dataclass(frozen=True)
class FinetuneConfig:
    """A whole run. `model`: an HF directory (anything `zett transfer` / `zett extend` wrote), a
    GGUF file, a packaged alias or a hub id; `tokenizer`: its tokenizer when it does not ship one
    (default: the model's own).

    mode "model": phase `embeddings` (only the vocabulary tables train; `rows: new` restricts it
    to the rows `new_rows` names), then phase `full` (every parameter); a phase with 0 steps is
    skipped. mode "hypernet": see `NShotConfig`. Objective "auto": causal LM for decoders, masked
    LM (`mlm_probability` of the tokens) for encoders.

    `new_rows`: "lo:hi[,lo:hi...]" id ranges, or a tokenizer (path / alias): the rows whose tokens
    it does not have (e.g. the base model's tokenizer after a transfer or an extension)."""

    model: str = "tiny"
    tokenizer: str | None = None
    workdir: str = "runs/finetune"
    out: str | None = None  # the exported HF checkpoint; default: <workdir>/model
    mode: Literal["model", "hypernet"] = "model"
    objective: Literal["auto", "clm", "mlm"] = "auto"
    mlm_probability: float = 0.15
    embeddings: EmbeddingsPhase = field(default_factory=EmbeddingsPhase)
    full: FullPhase = field(default_factory=FullPhase)
    new_rows: str = ""
    nshot: NShotConfig = field(default_factory=NShotConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: FinetuneData = field(default_factory=FinetuneData)
    mesh: MeshConfig = field(default_factory=MeshConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    data_parts: int = 0  # as `zett train`: the global batch in this many parts (0: one per process)
    # positions per chunk of the output-layer cross-entropy (0: all at once); None sizes it by memory
    # (zett.finetune.loss.default_chunk: 256 MiB of float32 logits, e.g. the whole batch of 4 x 128
    # under SmolLM2's 49k vocabulary, 256 positions under Gemma-3's 262k). A chunk recomputes its
    # logits in the backward pass: chunks of 256 made the SmolLM2 step of 4 x 128 tokens 1.12x slower
    # than the whole batch at once (benchmarks/finetune_speed.py --variants default,256)
    loss_chunk: int | None = None
    dtype: str = "float32"  # compute dtype (parameters stay float32)
    log_every: int = 10
    eval_every: int = 100
    save_every: int = 100
    keep_checkpoints: int = 2
    seed: int = 0
    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "zett"

    def __post_init__(self) -> None:
        if not 0 < self.mlm_probability < 1:
            raise ValueError(f"mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if self.loss_chunk is not None and self.loss_chunk < 0:
            raise ValueError(f"loss_chunk must be ≥ 0, got {self.loss_chunk}")
        if self.mode == "hypernet" and self.nshot.hypernet is None:
            raise ValueError(
                "mode: hypernet needs nshot.hypernet (a `zett train` output directory)"
            )
        if self.mode == "hypernet" and self.tokenizer is None:
            raise ValueError("mode: hypernet needs tokenizer (the one target tokenizer)")

    @property
    def export_dir(self) -> str:
        return self.out or f"{self.workdir}/model"
