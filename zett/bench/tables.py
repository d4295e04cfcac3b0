"""Embedding tables of a method for a (model, target tokenizer) pair, with FOCUS' fastText vectors
fitted once per tokenizer and training text, and the same special-token rows for every method."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from zett.heuristics import SourceEmbeddings, TargetEmbeddings
from zett.heuristics.focus import TokenVectors, train_token_vectors
from zett.methods import FocusOptions, MethodInputs, MethodSpec, Target
from zett.tokenization import CanonicalVocab, map_specials


def focus_vectors(
    cache_dir: Path,
    name: str,
    tokenizer,
    texts: Callable[[], list[str]],
    texts_key: str,
    options: FocusOptions | None = None,
    log: Callable[[str], None] = print,
) -> TokenVectors:
    """fastText vectors of the target tokens, fitted on `texts()` with the fastText settings of
    `options` once and cached under `cache_dir`, keyed by the tokenizer's JSON, `texts_key` (what
    the texts are: corpus, languages) and those settings."""
    opts = options or FocusOptions()
    fit = {k: v for k, v in opts.kwargs().items() if k not in ("chunk",)}
    tok_hash = hashlib.sha1(tokenizer.to_str().encode("utf-8")).hexdigest()[:12]
    key = texts_key if opts == FocusOptions() else f"{texts_key}:{sorted(fit.items())}"
    texts_hash = hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-60:]
    path = cache_dir / f"{safe}-{tok_hash}-{texts_hash}.npz"
    if path.exists():
        with np.load(path) as z:
            return TokenVectors(z["ids"], z["vectors"])
    corpus = texts()
    log(f"FOCUS: fitting fastText for {name} on {len(corpus)} texts ({texts_key})")
    vectors = train_token_vectors(corpus, tokenizer, **fit)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, ids=vectors.ids, vectors=vectors.vectors)
    os.replace(tmp, path)
    return vectors


def method_tables(
    spec: MethodSpec,
    source: SourceEmbeddings,
    target: Target,
    inputs: MethodInputs,
    focus: Callable[[FocusOptions], TokenVectors],
) -> TargetEmbeddings:
    """The tables of a `zett.methods` spec for `target`. FOCUS takes its fastText vectors from
    `focus(options)` (fitted once per tokenizer and cached) instead of fitting them per run.
    Special-token rows are then made the same for every method (`same_special_rows`)."""
    if spec.name == "focus":
        tables = spec.method.heuristic(
            source,
            target.vocab,
            seed=inputs.seed,
            vectors=focus(spec.options),
            **spec.options.kwargs(),
        )
    else:
        tables = spec.run(source, target, inputs)
    return same_special_rows(tables, source, target.vocab)


def same_special_rows(
    tables: TargetEmbeddings, source: SourceEmbeddings, target: CanonicalVocab
) -> TargetEmbeddings:
    """Every target special token gets the same rows whatever the method: the source row of the
    same role (`map_specials`, as the heuristics and the hypernet copy them), or, without one, the
    source table's mean row — a method is judged on the tokens it guesses, not on specials."""
    mapped = map_specials(target, source.vocab)
    pairs = [
        ("input_embeddings", source.input_embeddings),
        ("output_embeddings", source.output_embeddings),
        ("output_bias", source.output_bias),
    ]
    for attr, src in pairs:
        table = getattr(tables, attr)
        if table is None or src is None:
            continue
        table = np.array(table, copy=True)
        mean = src.mean(0)
        for t_id in target.special_ids:
            table[t_id] = src[mapped[t_id]] if t_id in mapped else mean
        setattr(tables, attr, table)
    return tables
