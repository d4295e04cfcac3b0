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
    # the command that builds `train` (recorded in the exported hypernet.json with the corpus' content
    # hash), e.g. "zett data build --config experiments/data/hypernet-v2.yaml --out data/corpus-v2"
    build_command: str | None = None
    validation: str | None = None  # default: the held-out split of `train`
    # out-of-domain validation text (a corpus dir's held-out split, e.g. data/corpus-ood from
    # `zett data build-ood`), scored like `validation`; None = none
    ood: str | None = None
    langs: tuple[str, ...] = ()  # empty = every language in the corpus
    validation_texts: int = 64  # per validation tokenizer (and language) and text set
    # source tokens whose rows the hypernet must reproduce, measured at each validation (cosine and
    # relative error, `zett.eval.reconstruction_stats`): None = the whole source vocabulary, 0 = off
    identity_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.validation_texts < 1:
            raise ValueError(f"data.validation_texts must be ≥ 1, got {self.validation_texts}")
        if self.identity_tokens is not None and self.identity_tokens < 0:
            raise ValueError(
                f"data.identity_tokens must be ≥ 0 or null, got {self.identity_tokens}"
            )


@dataclass(frozen=True)
class LangTokenizer:
    """A fixed monolingual validation tokenizer: scored on the `lang` texts of each validation set
    (what users and the benchmark meet: one tokenizer per language)."""

    lang: str
    path: str


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
    validation_tokenizers: tuple[str, ...] = ()  # fixed target tokenizers, scored on every language
    monolingual_validation: tuple[LangTokenizer, ...] = ()  # fixed tokenizers, one language each
    log_every: int = 10
    eval_every: int = 200
    save_every: int = 200
    keep_checkpoints: int = 2
    seed: int = 0
    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "zett"

    def __post_init__(self) -> None:
        if self.hypernet.lang_embedding:
            if self.collator.lang_sampling != "one_per_batch":
                raise ValueError(
                    "hypernet.lang_embedding needs collator.lang_sampling: one_per_batch (got "
                    f"{self.collator.lang_sampling!r}): a mixed batch has no one language to embed"
                )
            if self.collator.surface_pack_width:
                raise ValueError(
                    "hypernet.lang_embedding computes surface forms in the padded layout: set "
                    f"collator.surface_pack_width: 0 (got {self.collator.surface_pack_width})"
                )

    @property
    def total_steps(self) -> int:
        return self.optim.total_steps

    @property
    def validates(self) -> bool:
        """Whether periodic validation runs: with validation tokenizers, or an explicit
        `data.identity_tokens` count (identity reconstruction alone)."""
        return bool(
            self.validation_tokenizers
            or self.monolingual_validation
            or (self.data.identity_tokens or 0) > 0
        )
