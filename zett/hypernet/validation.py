"""Validation during training: bits per byte of the frozen base model under fixed target tokenizers
with the embeddings the hypernetwork predicts for them, on held-out and out-of-domain text, and how
well it reproduces the source rows of the source's own tokens (identity reconstruction).

Across hosts every process runs the same validation on whole (replicated) copies of the hypernet and
the base model, so each reads every value it needs and all of them log the same numbers; the copies
live only while validation runs (a whole base model per device: mind the device memory of 7B-scale
runs, or validate the exported hypernet instead)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np

from zett.eval import evaluate_bpb, reconstruction_stats
from zett.hypernet.model import Hypernet
from zett.hypernet.predict import predict_embeddings, predict_tokens
from zett.hypernet.train_config import TrainConfig
from zett.parallel import replicated_copy
from zett.sampling import CorpusTexts
from zett.tokenization import Decomposer, canonicalize, load_tokenizer, overlap


def text_sets(cfg: TrainConfig) -> dict[str, tuple[str, str]]:
    """Metric prefix → (corpus, split): "val" the held-out text (default: the held-out split of
    `data.train`), "val_ood" the out-of-domain corpus's held-out split when `data.ood` is set."""
    sets = {
        "val": (cfg.data.validation, "train")
        if cfg.data.validation is not None
        else (cfg.data.train, "heldout")
    }
    if cfg.data.ood is not None:
        sets["val_ood"] = (cfg.data.ood, "heldout")
    return sets


def _sample(path: str, split: str, langs: tuple[str, ...], n: int) -> list[str]:
    texts = CorpusTexts.load(path, split, langs)
    return [texts[i][0] for i in range(min(n, len(texts)))]


def identity_reconstruction(
    hypernet: Hypernet, decomposer: Decomposer, n_tokens: int | None = None, seed: int = 0
) -> dict[str, float]:
    """`reconstruction_stats` of the hypernet's predictions for the source's own regular tokens
    (all of them, or a seeded sample of `n_tokens`) against their source rows (input table; the
    output table too for untied models, as `identity_out/…`); for a language-conditioned hypernet
    over every (token, language) pair."""
    src = decomposer.canonical
    ids = overlap(src, src).source_ids.astype(np.int64)
    if n_tokens is not None and n_tokens < ids.size:
        ids = np.sort(np.random.default_rng(seed).choice(ids, n_tokens, replace=False))
    tokens = [src.tokens[i] for i in ids]
    # a language-conditioned hypernet must reproduce the rows under every language: all pairs count
    langs = hypernet.cfg.languages if hypernet.cfg.lang_embedding else (None,)
    preds = [predict_tokens(hypernet, decomposer, tokens, lang=lang) for lang in langs]
    e_in = np.concatenate([p[0] for p in preds])
    e_out = None if preds[0][1] is None else np.concatenate([p[1] for p in preds])
    table = np.tile(np.asarray(hypernet.source_table[...])[ids], (len(langs), 1))
    d = hypernet.embed_dim
    out = {f"identity/{k}": v for k, v in reconstruction_stats(e_in, table[:, :d]).items()}
    if e_out is not None:
        stats = reconstruction_stats(e_out, table[:, d:])
        out.update({f"identity_out/{k}": v for k, v in stats.items()})
    return out


def validate(
    cfg: TrainConfig, hypernet: Hypernet, base: Any, tok: Any, progress: bool = False
) -> dict[str, float]:
    """`{"<set>/<tokenizer>/bits_per_byte": …}` for each of `cfg.validation_tokenizers` on every
    language (a language-conditioned hypernet: per language, named like the monolingual ones),
    `"<set>/<lang>/<tokenizer>/bits_per_byte"` for each monolingual validation tokenizer
    on its language's texts (the first `cfg.data.validation_texts` of each; sets: `text_sets`), and
    `identity/…` (`identity_reconstruction`, unless `data.identity_tokens` is 0). In a multi-host
    run every process calls it (see the module docstring)."""
    if jax.process_count() > 1:
        hypernet, base = replicated_copy(hypernet), replicated_copy(base)
    decomposer = Decomposer(tok, maxlen=hypernet.cfg.surface_maxlen)
    src = decomposer.canonical
    prefix = src.special("bos") or src.special("eos")
    n = cfg.data.validation_texts
    conditioned = hypernet.cfg.lang_embedding
    if conditioned:  # a shared tokenizer is scored per language, each under its own embedding
        jobs = [
            (p, lang, (lang,)) for p in cfg.validation_tokenizers for lang in hypernet.cfg.languages
        ]
    else:
        jobs = [(path, None, cfg.data.langs) for path in cfg.validation_tokenizers]
    jobs += [(v.path, v.lang, (v.lang,)) for v in cfg.monolingual_validation]
    out: dict[str, float] = {}
    for path, lang, langs in jobs:
        target = load_tokenizer(path)
        vocab = canonicalize(target)
        pred = predict_embeddings(
            hypernet, decomposer, vocab, progress=progress, lang=lang if conditioned else None
        )
        name = Path(path).name if lang is None else f"{lang}/{Path(path).name}"
        for prefix_name, (corpus, split) in text_sets(cfg).items():
            try:
                sample = _sample(corpus, split, langs, n)
            except (FileNotFoundError, ValueError):
                if prefix_name == "val":
                    raise
                continue  # a language the out-of-domain corpus lacks (it has no Swahili)
            res = evaluate_bpb(
                base,
                target.tokenizer,
                sample,
                prefix_row=prefix.id if prefix else 0,
                input_embeddings=pred.input_embeddings,
                output_embeddings=pred.output_embeddings,
                output_bias=pred.output_bias,
                special_ids=vocab.special_ids,
                progress=progress,
            )
            out[f"{prefix_name}/{name}/bits_per_byte"] = res.bits_per_byte
    if cfg.data.identity_tokens != 0:
        out.update(
            identity_reconstruction(hypernet, decomposer, cfg.data.identity_tokens, cfg.seed)
        )
    return out
