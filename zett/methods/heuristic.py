"""The heuristic baselines as registry entries, each with its typed options.

Adding one is a few lines: an options dataclass (fields = the function's keyword options) and a
`register(heuristic_method(name, function, Options, needs=...))` below."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from zett.heuristics import (
    focus_init,
    fvt_init,
    lexical_init,
    mean_init,
    mean_noise_init,
    mvn_init,
    random_init,
)
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


for _name, _function, _options in (
    ("fvt", fvt_init, FvtOptions),
    ("lexical", lexical_init, CopyOptions),
    ("mean", mean_init, CopyOptions),
    ("mean_noise", mean_noise_init, MeanNoiseOptions),
    ("mvn", mvn_init, CopyOptions),
    ("random", random_init, CopyOptions),
):
    register(heuristic_method(_name, _function, _options))
register(heuristic_method("focus", focus_init, FocusOptions, needs=("texts",)))
