"""The grid of a bench run: one cell per (model, tokenizer, language, method)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from zett import assets
from zett.bench.config import BenchConfig


@dataclass(frozen=True)
class Cell:
    model: str
    tokenizer: str
    language: str
    method: str
    domain: str

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.model, self.tokenizer, self.language, self.method, self.domain)


def _same_checkpoint(a: str, b: str) -> bool:
    return a == b or Path(assets.resolve(a)).resolve() == Path(assets.resolve(b)).resolve()


def hypernet_base_model(method: str) -> str:
    """The base model a `hypernet:<dir>` method was trained for (its hypernet.json)."""
    meta = json.loads((Path(method.split(":", 1)[1]) / "hypernet.json").read_text())
    return str(meta["base_model"])


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
                langs = tuple(lang for lang in langs if lang == tok.split(":")[1])
            for method in config.methods:
                if method == "original":
                    continue
                if method.startswith("hypernet:") and not _same_checkpoint(
                    hypernet_base_model(method), model
                ):
                    continue
                cells.extend(Cell(model, tok, lang, method, d) for lang in langs for d in domains)
    return cells
