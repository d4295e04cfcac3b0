"""The typed config of a hypernetwork training run (`zett train CONFIG key=value ...`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from zett.hypernet.config import HypernetConfig
from zett.hypernet.optim import OptimConfig
from zett.models.config import ModelConfig
from zett.parallel.distributed import DistributedConfig
from zett.parallel.mesh import MeshConfig
from zett.sampling.config import CollatorConfig


@dataclass(frozen=True)
class DataConfig:
    """Training/validation text: a corpus dir from `zett data build`, JSONL/text files, or a hub id."""

    train: str = "data/corpus"
    validation: str | None = None  # default: the held-out split of `train`
    langs: tuple[str, ...] = ()  # empty = every language in the corpus
    validation_texts: int = 64  # per validation tokenizer


@dataclass(frozen=True)
class TrainConfig:
    """A whole run. `base_model` is a path / GGUF / hub id, or "tiny" for a random tiny decoder;
    `model` describes the architecture without weights (for `zett plan` and the tiny preset)."""

    base_model: str = "tiny"
    source_tokenizer: str | None = None  # default: the base model's own tokenizer
    model: ModelConfig | None = None
    workdir: str = "runs/tiny"
    hypernet: HypernetConfig = field(default_factory=HypernetConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    collator: CollatorConfig = field(default_factory=CollatorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    mesh: MeshConfig = field(default_factory=MeshConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    # the global batch (collator.batch_size texts, collator.n_subsample subset rows) is built in
    # this many equal parts, one per process by default (0); a single process with data_parts=N
    # reproduces the batches of an N-host run exactly
    data_parts: int = 0
    aux_weight: float = 0.5
    validation_tokenizers: tuple[str, ...] = ()  # fixed target tokenizers for periodic validation
    log_every: int = 10
    eval_every: int = 200
    save_every: int = 200
    keep_checkpoints: int = 2
    seed: int = 0
    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "zett"

    @property
    def total_steps(self) -> int:
        return self.optim.total_steps
