"""`zett bench` configuration and its up-front validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zett import assets
from zett.eval.protocol import DEFAULT_PROTOCOL, ScoringProtocol

METHOD_NAMES = ("original", "fvt", "lexical", "mean", "mean_noise", "mvn", "random", "focus")


@dataclass(frozen=True)
class Domain:
    """Evaluation text: `split` of the corpus directory `corpus` (built by `zett data build`, or
    with the same JSONL layout: records {text, lang, source, doc})."""

    name: str
    corpus: str
    split: str = "heldout"


@dataclass(frozen=True)
class BenchConfig:
    """models: aliases/paths; tokenizers: `original`, aliases/paths, `unigram:<lang>:<size>`, `bytes`;
    methods: `original`, heuristic names, `hypernet:<dir>`. A `unigram:<lang>` tokenizer is scored
    only on its own language when `unigram_own_language` (a German tokenizer says nothing about
    Hindi).

    Every (language, domain) is scored on `texts_per_language` passages from at least `min_units`
    split units (chapters, documents), picked by a seeded round-robin over units
    (`zett.eval.heldout.select_passages`), under `protocol` (`zett.eval.protocol`). `corpus` is the
    training corpus: its train split trains the Unigram tokenizers and FOCUS' fastText.
    Differences between methods get paired bootstrap intervals over passages
    (`bootstrap_samples` resamples)."""

    models: tuple[str, ...] = ("smollm2",)
    tokenizers: tuple[str, ...] = ("bytes",)
    languages: tuple[str, ...] = ("en",)
    methods: tuple[str, ...] = ("original", "fvt", "mean")
    domains: tuple[Domain, ...] = (Domain("in-domain", "data/corpus", "heldout"),)
    texts_per_language: int = 8
    min_units: int = 8
    protocol: ScoringProtocol = DEFAULT_PROTOCOL
    corpus: str = "data/corpus"
    output: str = "experiments/bench/results"
    unigram_train_texts: int = 3000
    unigram_own_language: bool = True
    hypernet_maxlen: int = 7
    bootstrap_samples: int = 1000
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
    names = [d.name for d in config.domains]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"domains need distinct names, got {names}")
    for d in config.domains:
        if not (Path(d.corpus) / "manifest.json").is_file():
            raise FileNotFoundError(
                f"domain {d.name!r}: {d.corpus} is not a corpus (no manifest.json); build it first"
            )
    if config.texts_per_language < config.min_units:
        raise ValueError(
            f"texts_per_language {config.texts_per_language} < min_units {config.min_units}: "
            "the passages could not come from that many units"
        )
    for m in config.models:
        if not Path(assets.resolve(m)).exists():
            raise FileNotFoundError(
                f"unknown model {m!r}: neither an alias (smollm2, gemma3) nor an existing path"
            )
