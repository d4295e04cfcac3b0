"""Configs of the tokenizer sampler and the collator (frozen dataclasses, loadable with
`zett.config.load_config`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class SamplerConfig:
    """Noisy UnigramLM sampling from substring statistics (defaults: bminixhofer/zett's).

    Vocabulary size (specials, 256 bytes and whitespace pieces included): `vocab_size` when
    `vocab_size_dist` is "fixed", else drawn per batch from [vocab_size_min, vocab_size_max]
    uniformly or log-uniformly. Noise: σ ~ LogNormal(ln noise_median, noise_log_std) per batch; σ =
    0 when noise_median is 0."""

    vocab_size: int = 32768
    vocab_size_dist: Literal["fixed", "uniform", "log_uniform"] = "fixed"
    vocab_size_min: int = 8192
    vocab_size_max: int = 65536
    window: int = 16
    max_substring_len: int = 15
    char_aligned: bool = True
    noise_median: float = 1e-5
    noise_log_std: float = 4.0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"sampler.window must be ≥ 1, got {self.window}")
        if not 2 <= self.max_substring_len <= 255:
            raise ValueError(
                f"sampler.max_substring_len must be in [2, 255], got {self.max_substring_len}"
            )
        if self.vocab_size_dist != "fixed" and not 0 < self.vocab_size_min <= self.vocab_size_max:
            raise ValueError(
                f"sampler: need 0 < vocab_size_min ≤ vocab_size_max, got {self.vocab_size_min}, "
                f"{self.vocab_size_max}"
            )
        if self.noise_median < 0 or self.noise_log_std < 0:
            raise ValueError("sampler: noise_median and noise_log_std must be ≥ 0")

    @property
    def noise_log_mean(self) -> float:
        return math.log(self.noise_median) if self.noise_median > 0 else -math.inf


@dataclass(frozen=True)
class CollatorConfig:
    """Texts → training batches for the hypernetwork.

    Each of `batch_size` texts is a random span of ≤ `max_chars` characters; they are encoded into
    `block_size` tokens with the base tokenizer's special tokens around them. `n_subsample` (k)
    fixes the vocabulary subset per batch (in-batch tokens + specials + uniform negatives; None =
    the whole sampled vocabulary, padded to `sampler.vocab_size_max` or `sampler.vocab_size`). Step
    t belongs to stream t % `n_streams`; each stream has its own window of the last `sampler.window`
    batches, so the batches do not depend on `num_workers` (which must divide `n_streams`).

    `surface_pack_width` > 0 has the hypernetwork compute the surface forms packed, tokens of one
    length side by side in rows of this many positions (≥ surface_maxlen; e.g. 4 × maxlen), so its
    FLOPs follow the real pieces instead of k × maxlen; 0 keeps the padded layout. Same results up to
    float reassociation (`zett.hypernet.packing`)."""

    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    batch_size: int = 128
    max_chars: int = 2048
    block_size: int = 128
    objective: Literal["clm", "mlm"] = "clm"
    mlm_probability: float = 0.15
    n_subsample: int | None = 16384
    surface_maxlen: int = 7
    surface_pack_width: int = 0
    seed: int = 0
    n_streams: int = 1
    num_workers: int = 1
    prefetch: int = 2

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_chars < 1 or self.block_size < 2:
            raise ValueError("collator: batch_size, max_chars must be ≥ 1 and block_size ≥ 2")
        if not 0 < self.mlm_probability < 1:
            raise ValueError(
                f"collator.mlm_probability must be in (0, 1), got {self.mlm_probability}"
            )
        if self.n_subsample is not None and self.n_subsample < 1:
            raise ValueError(f"collator.n_subsample must be ≥ 1 or null, got {self.n_subsample}")
        if self.surface_pack_width and self.surface_pack_width < self.surface_maxlen:
            raise ValueError(
                f"collator.surface_pack_width ({self.surface_pack_width}) must be 0 or ≥ "
                f"surface_maxlen ({self.surface_maxlen})"
            )
        if self.n_streams < 1 or self.num_workers < 0:
            raise ValueError("collator: n_streams must be ≥ 1 and num_workers ≥ 0")
        if self.num_workers > 1 and self.n_streams % self.num_workers:
            raise ValueError(
                f"collator.num_workers ({self.num_workers}) must divide n_streams "
                f"({self.n_streams})"
            )
