"""`zett bench` configuration and its up-front validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zett import assets
from zett.eval.protocol import DEFAULT_PROTOCOL, ScoringProtocol


@dataclass(frozen=True)
class Probe:
    """The "after N steps" column (`zett.finetune.probe`): every transfer cell's tables trained for
    `steps` updates of `batch_size` blocks of `block_size` target tokens at `lr` (embeddings only
    unless `embeddings_only` is false) on `train_texts` train passages of the cell's language, the
    same blocks in the same order for every method (`seed`), then scored like the zero-shot
    column. `steps: 0` turns the column off; `methods` limits it (empty: every method)."""

    steps: int = 0
    batch_size: int = 4
    block_size: int = 128
    lr: float = 3e-3
    embeddings_only: bool = True
    train_texts: int = 400
    seed: int = 0
    methods: tuple[str, ...] = ()
    tokenizers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch_size < 1 or self.block_size < 4 or self.train_texts < 1:
            raise ValueError(
                "probe: steps must be ≥ 0, batch_size and train_texts ≥ 1, block_size ≥ 4"
            )


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
    methods: `original` and `zett.methods` specs (`fvt`, `omp,k=32`, `hypernet:<dir>`). Donor
    methods (omp, clp) take as donor the model whose tokenizer the target tokenizer is, when that
    model is listed in `donors`; without one the cell is not planned (the log says so). A
    `unigram:<lang>` tokenizer is scored only on its own language when `unigram_own_language` (a
    German tokenizer says nothing about Hindi), and on `arith`. Language `arith` is the synthetic
    arithmetic probe (`zett.eval.arithmetic`): generated text, scored under the first domain only.

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
    donors: tuple[str, ...] = ()
    probe: Probe = Probe()
    bootstrap_samples: int = 1000
    seed: int = 0
    plots: bool = True


def validate(config: BenchConfig) -> None:
    """Fails before any work on names that cannot mean anything."""
    from zett.methods import MethodInputs

    for m in config.methods:
        if m != "original":
            spec = method_spec(m)  # unknown names/options, a missing hypernet dir: fail here
            if "texts" in spec.needs and spec.name != "focus":
                raise ValueError(f"method {m!r} needs texts; the bench gives texts to focus only")
            if spec.name == "hypernet":  # a language-conditioned one: every bench language known
                for lang in config.languages:
                    spec.options.language(MethodInputs(lang=lang))
    for d in config.donors:
        MethodInputs(donor=d).check_donor()
    probing = config.probe.steps > 0  # a column switched off (probe.steps=0) selects nothing
    for m in config.probe.methods if probing else ():
        if m not in config.methods or m == "original":
            raise ValueError(f"probe.methods: {m!r} is not one of the transfer methods")
    for t in config.probe.tokenizers if probing else ():
        if t not in config.tokenizers:
            raise ValueError(f"probe.tokenizers: {t!r} is not one of the tokenizers")
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


def method_spec(method: str):
    """The `zett.methods` spec of a bench method string."""
    from zett.methods import parse_method

    return parse_method(method)
