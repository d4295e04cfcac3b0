"""The heuristic baselines as registry entries, each with its typed options.

Adding one is a few lines: an options dataclass (fields = the function's keyword options) and a
`register(heuristic_method(name, function, Options, needs=...))` below."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from zett.heuristics import (
    clp_init,
    focus_init,
    fvt_calibrated_init,
    fvt_init,
    lexical_init,
    mean_init,
    mean_noise_init,
    mvn_init,
    omp_init,
    random_init,
)
from zett.heuristics.omp import DEFAULT_K, DEFAULT_POOL, DEFAULT_REFRESH
from zett.methods.registry import heuristic_method, register


@dataclass(frozen=True)
class CopyOptions:
    """copy: take the rows of tokens the source also has (exact canonical overlap + specials)."""

    copy: bool = True


@dataclass(frozen=True)
class FvtOptions:
    """copy: as CopyOptions; chunk: rows computed at a time (memory, not results)."""

    copy: bool = True
    chunk: int = 4096

    def __post_init__(self) -> None:
        if self.chunk < 1:
            raise ValueError(f"fvt: chunk must be ≥ 1, got {self.chunk}")


@dataclass(frozen=True)
class MeanNoiseOptions:
    """noise: std of the added noise relative to the per-dimension std of the source rows."""

    copy: bool = True
    noise: float = 0.1

    def __post_init__(self) -> None:
        if self.noise < 0:
            raise ValueError(f"mean_noise: noise must be ≥ 0, got {self.noise}")


@dataclass(frozen=True)
class FocusOptions:
    """fastText settings (deepfocus' defaults): vector size, epochs, min_count, threads (None: all
    cores; more than one is nondeterministic), character n-gram range (ngram_max 0: none), what
    rare tokens get ("ngrams": a vector composed from their n-grams, "random": none), and rows of
    similarities computed at a time."""

    dim: int = 100
    epochs: int = 3
    min_count: int = 10
    threads: int | None = None
    ngram_min: int = 3
    ngram_max: int = 6
    rare: Literal["ngrams", "random"] = "ngrams"
    chunk: int = 512

    def __post_init__(self) -> None:
        for name in ("dim", "epochs", "min_count", "chunk"):
            if getattr(self, name) < 1:
                raise ValueError(f"focus: {name} must be ≥ 1, got {getattr(self, name)}")
        if self.ngram_max and not 0 < self.ngram_min <= self.ngram_max:
            raise ValueError(
                f"focus: need 0 < ngram_min ≤ ngram_max, got {self.ngram_min}, {self.ngram_max}"
            )

    def kwargs(self) -> dict[str, Any]:
        """The keyword options of `focus_init`."""
        return dict(
            dim=self.dim,
            epochs=self.epochs,
            min_count=self.min_count,
            threads=self.threads,
            ngrams=(self.ngram_min, self.ngram_max),
            rare=self.rare,
            chunk=self.chunk,
        )


@dataclass(frozen=True)
class OmpOptions:
    """k: shared tokens combined per new token (mergekit's default 64); refresh, pool: how often the
    pursuit scores every atom and how many it keeps (refresh=1: exact OMP); block: tokens per batch
    (memory, not results). OMP combines the shared tokens' rows, so copy must stay on."""

    copy: bool = True
    k: int = DEFAULT_K
    refresh: int = DEFAULT_REFRESH
    pool: int = DEFAULT_POOL
    block: int = 256

    def __post_init__(self) -> None:
        for name in ("k", "refresh", "pool", "block"):
            if getattr(self, name) < 1:
                raise ValueError(f"omp: {name} must be ≥ 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class ClpOptions:
    """block: new tokens per batch (memory, not results). CLP averages the shared tokens' rows, so
    copy must stay on."""

    copy: bool = True
    block: int = 512

    def __post_init__(self) -> None:
        if self.block < 1:
            raise ValueError(f"clp: block must be ≥ 1, got {self.block}")


@dataclass(frozen=True)
class FvtCalibratedOptions:
    """min_script: fewest source tokens a script needs for its own norm; undertrained_z: the
    under-trained-row filter's threshold (None: off); tied_rule: which rule fills a tied model's
    one table ("output": character-weighted, "input": rescaled); chunk: new tokens per block."""

    copy: bool = True
    min_script: int = 20
    undertrained_z: float | None = None
    tied_rule: Literal["output", "input"] = "output"
    chunk: int = 16384

    def __post_init__(self) -> None:
        if self.min_script < 1 or self.chunk < 1:
            raise ValueError(
                f"fvt-calibrated: min_script and chunk must be ≥ 1, got {self.min_script}, "
                f"{self.chunk}"
            )
        if self.undertrained_z is not None and self.undertrained_z <= 0:
            raise ValueError(
                f"fvt-calibrated: undertrained_z must be > 0 (or none), got {self.undertrained_z}"
            )


for _name, _function, _options in (
    ("fvt", fvt_init, FvtOptions),
    ("fvt-calibrated", fvt_calibrated_init, FvtCalibratedOptions),
    ("lexical", lexical_init, CopyOptions),
    ("mean", mean_init, CopyOptions),
    ("mean_noise", mean_noise_init, MeanNoiseOptions),
    ("mvn", mvn_init, CopyOptions),
    ("random", random_init, CopyOptions),
):
    register(heuristic_method(_name, _function, _options))
register(heuristic_method("focus", focus_init, FocusOptions, needs=("texts",)))
register(heuristic_method("omp", omp_init, OmpOptions, needs=("donor",)))
register(heuristic_method("clp", clp_init, ClpOptions, needs=("donor",)))
