"""`zett bench` configuration and its up-front validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zett import assets

METHOD_NAMES = ("original", "fvt", "lexical", "mean", "mean_noise", "mvn", "random", "focus")


@dataclass(frozen=True)
class BenchConfig:
    """models: aliases/paths; tokenizers: `original`, aliases/paths, `unigram:<lang>:<size>`, `bytes`;
    methods: `original`, heuristic names, `hypernet:<dir>`. A `unigram:<lang>` tokenizer is scored
    only on its own language when `unigram_own_language` (a German tokenizer says nothing about
    Hindi)."""

    models: tuple[str, ...] = ("smollm2",)
    tokenizers: tuple[str, ...] = ("bytes",)
    languages: tuple[str, ...] = ("en",)
    methods: tuple[str, ...] = ("original", "fvt", "mean")
    texts_per_language: int = 24
    max_len: int = 256
    batch_size: int = 8
    corpus: str = "data/corpus"
    output: str = "experiments/bench/results"
    unigram_train_texts: int = 3000
    unigram_own_language: bool = True
    hypernet_maxlen: int = 7
    seed: int = 0
    plots: bool = True


def validate(config: BenchConfig) -> None:
    """Fails before any work on names that cannot mean anything."""
    for m in config.methods:
        if m not in METHOD_NAMES and not m.startswith("hypernet:"):
            raise ValueError(
                f"unknown method {m!r}; expected one of {list(METHOD_NAMES)} or 'hypernet:<dir>'"
            )
        if m.startswith("hypernet:") and not Path(m.split(":", 1)[1]).is_dir():
            raise FileNotFoundError(
                f"method {m!r}: hypernetwork directory {m.split(':', 1)[1]} not found"
            )
    for t in config.tokenizers:
        if t.startswith("unigram:"):
            parts = t.split(":")
            if len(parts) != 3 or not parts[2].isdigit():
                raise ValueError(f"tokenizer {t!r}: expected 'unigram:<lang>:<vocab_size>'")
        elif t not in ("original", "bytes"):
            if not Path(assets.resolve(t)).exists():
                raise FileNotFoundError(
                    f"unknown tokenizer {t!r}: neither an alias nor an existing path"
                )
    for m in config.models:
        if not Path(assets.resolve(m)).exists():
            raise FileNotFoundError(
                f"unknown model {m!r}: neither an alias (smollm2, gemma3) nor an existing path"
            )
