"""The grid of a bench run: one cell per (model, tokenizer, language, method)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zett import assets
from zett.bench.config import BenchConfig, method_spec
from zett.eval.arithmetic import ARITH


@dataclass(frozen=True)
class Cell:
    model: str
    tokenizer: str
    language: str
    method: str
    domain: str
    steps: int = 0  # 0: zero-shot; N: after N probe steps (`BenchConfig.probe`)

    @property
    def key(self) -> tuple[str, str, str, str, str, int]:
        return (self.model, self.tokenizer, self.language, self.method, self.domain, self.steps)


def _same_checkpoint(a: str, b: str) -> bool:
    return a == b or Path(assets.resolve(a)).resolve() == Path(assets.resolve(b)).resolve()


def hypernet_base_model(method: str) -> str:
    """The base model a `hypernet:<dir>` method was trained for (its hypernet.json)."""
    return method_spec(method).options.base_model


def table_language(cell: Cell) -> str | None:
    """The language a cell's tables are predicted for: the cell's, for a hypernet trained with
    language embeddings and no `lang` option of its own; None for every other method (one table
    serves all languages)."""
    if cell.method == "original":
        return None
    spec = method_spec(cell.method)
    if spec.name != "hypernet" or spec.options.lang is not None:
        return None
    return cell.language if spec.options.config().lang_embedding else None


def donor_for(config: BenchConfig, tokenizer: str) -> str | None:
    """The donor of a target tokenizer: the listed donor model whose tokenizer it is (a model
    alias/path used as a tokenizer), else None."""
    if tokenizer in ("bytes", "original") or tokenizer.startswith("unigram:"):
        return None
    return next((d for d in config.donors if _same_checkpoint(d, tokenizer)), None)


def plan_cells(config: BenchConfig) -> list[Cell]:
    """Order: model → tokenizer → method → language → domain, so one embedding table at a time is
    alive.

    A model's own tokenizer in `tokenizers` is its `original` row, not a transfer, and a
    hypernetwork only runs on the base model it was trained for, so several models can share one
    config."""
    cells = []
    domains = [d.name for d in config.domains]
    for model in config.models:
        for lang in config.languages:
            if "original" in config.methods:
                cells.extend(Cell(model, "original", lang, "original", d) for d in domains)
        for tok in config.tokenizers:
            if tok == "original" or (
                tok not in ("bytes",)
                and not tok.startswith("unigram:")
                and _same_checkpoint(tok, model)
            ):
                continue
            langs = config.languages
            if tok.startswith("unigram:") and config.unigram_own_language:
                # the arithmetic probe is no language: every tokenizer splits numbers its own way
                own = tok.split(":")[1]
                langs = tuple(lang for lang in langs if lang in (own, ARITH))
            for method in config.methods:
                if method == "original":
                    continue
                spec = method_spec(method)
                if spec.name == "hypernet" and not _same_checkpoint(
                    hypernet_base_model(method), model
                ):
                    continue
                if "donor" in spec.needs and donor_for(config, tok) is None:
                    continue
                cells.extend(Cell(model, tok, lang, method, d) for lang in langs for d in domains)
                if probed(config, tok, method):
                    steps = config.probe.steps
                    cells.extend(
                        Cell(model, tok, lang, method, d, steps) for lang in langs for d in domains
                    )
    return cells


def probed(config: BenchConfig, tokenizer: str, method: str) -> bool:
    """Whether (tokenizer, method) gets the "after N steps" column."""
    p = config.probe
    return (
        p.steps > 0
        and (not p.methods or method in p.methods)
        and (not p.tokenizers or tokenizer in p.tokenizers)
    )


def skipped_donor_cells(config: BenchConfig) -> list[tuple[str, str]]:
    """(tokenizer, method) pairs of donor methods left out because no listed donor uses the
    tokenizer (a Unigram tokenizer trained by the bench has no model at all)."""
    return [
        (tok, m)
        for tok in config.tokenizers
        for m in config.methods
        if m != "original" and "donor" in method_spec(m).needs and donor_for(config, tok) is None
    ]
