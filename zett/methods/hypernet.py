"""`hypernet:DIR`: a trained zett hypernetwork predicts every target row from the token's text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from zett.checkpoint import CheckpointError
from zett.config import from_dict
from zett.heuristics.base import SourceEmbeddings, TargetEmbeddings
from zett.hypernet.checkpoint import HYPERNET_META, load_hypernet, read_hypernet_meta
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Hypernet
from zett.hypernet.predict import predict_embeddings
from zett.methods.registry import Method, MethodInputs, Target, register
from zett.tokenization import Decomposer, overlap


@dataclass(frozen=True)
class HypernetOptions:
    """path: the exported hypernet directory (hypernet.json + weights), trained for the source model.

    copy_overlap: tokens whose canonical bytes are a source token take that source row instead of
      the prediction (specials always take the source row of their role). On by default: the
      shipped v1 hypernet loses the rows it should reproduce (on SmolLM2's own tokenizer 1.38 vs
      0.72 bits/byte in English), copying is never worse than the source row by construction, and
      it passes the identity test (tests/methods/test_identity_transfer.py; the per-language
      comparison on another family's tokenizer: experiments/hypernet-v2/copy_overlap.py).
    decomposition: how target tokens are split into source pieces for the hypernet — "tokenizer":
      the source tokenizer's own model (BPE merges, Unigram), as in training; "longest_match":
      greedy longest match over the source vocabulary.
    chunk: tokens predicted per jitted call (memory and compile shape, not results).
    pack_width: positions per row of the packed layout the surface forms are computed in
      (`zett.hypernet.packing`; FLOPs for real pieces only); None = 4 × surface_maxlen, 0 = the
      padded [tokens, maxlen] layout. Results equal up to float reassociation.
    lang: the language of the target text, for a hypernet trained with language embeddings (`zett
      transfer --lang`); without it such a hypernet takes the caller's (`MethodInputs.lang`, a
      bench cell's language) and fails without one. Giving it to a hypernet without language
      embeddings is an error, not ignored: the caller would believe the rows are language-specific."""

    path: str
    copy_overlap: bool = True
    decomposition: Literal["tokenizer", "longest_match"] = "tokenizer"
    chunk: int = 4096
    pack_width: int | None = None
    lang: str | None = None

    def __post_init__(self) -> None:
        if not Path(self.path).is_dir():
            raise FileNotFoundError(f"{self.path}: no such hypernet directory")
        if not (Path(self.path) / HYPERNET_META).is_file():
            raise FileNotFoundError(
                f"{self.path} is not a zett hypernet directory (no {HYPERNET_META})"
            )
        if self.chunk < 1:
            raise ValueError(f"hypernet: chunk must be ≥ 1, got {self.chunk}")
        if self.pack_width is not None and self.pack_width < 0:
            raise ValueError(f"hypernet: pack_width must be ≥ 0, got {self.pack_width}")
        if self.lang is not None:
            self.config().language_index(self.lang, where=f"hypernet {self.path}")

    def meta(self) -> dict[str, Any]:
        return read_hypernet_meta(self.path)

    def config(self) -> HypernetConfig:
        """The architecture its hypernet.json records."""
        meta = self.meta()
        if "config" not in meta:
            raise CheckpointError(f"{Path(self.path) / HYPERNET_META}: lacks 'config'")
        where = f"{Path(self.path) / HYPERNET_META}: config"
        return from_dict(HypernetConfig, meta["config"], where=where)

    def language(self, inputs: MethodInputs | None = None) -> str | None:
        """The language the prediction is conditioned on: `lang`, else the caller's
        (`inputs.lang`) for a hypernet trained with language embeddings, None for one without;
        fails (listing the known languages) when it is missing or unknown."""
        cfg = self.config()
        if not cfg.lang_embedding:
            return None
        lang = self.lang if self.lang is not None else (inputs.lang if inputs else None)
        cfg.language_index(lang, where=f"hypernet {self.path}")
        return lang

    @property
    def base_model(self) -> str:
        """The base model the hypernet was trained for, as its hypernet.json names it."""
        return str(self.meta()["base_model"])


def load_for_source(
    path: str | Path, source: SourceEmbeddings, untied_head_unpredicted: bool = False
) -> Hypernet:
    """The hypernet at `path` rebuilt around the source tables; refuses one trained for another base
    model (shape or fingerprint of the input embeddings) or whose heads do not fit the model's
    (tied/untied LM head, output bias). `untied_head_unpredicted`: accept an input-only hypernet
    for an untied model (a caller that fills the LM head rows itself, as `zett extend` does)."""
    hcfg = read_hypernet_meta(path)["config"]
    predicts_out = bool(hcfg.get("predict_output_embeddings"))
    if source.output_embeddings is not None and not predicts_out and not untied_head_unpredicted:
        raise ValueError(
            f"{path}: the model has an untied LM head but the hypernet predicts no output "
            f"embeddings"
        )
    if source.output_bias is not None and not hcfg.get("predict_bias"):
        raise ValueError(f"{path}: the model has an output bias but the hypernet predicts none")
    if predicts_out and source.output_embeddings is None:
        raise ValueError(
            f"{path}: the hypernet predicts output embeddings but the model's LM head is tied"
        )
    return load_hypernet(
        path,
        source.input_embeddings,
        source.output_embeddings,
        source_output_bias=source.output_bias,
    )


def copy_overlap(
    tables: TargetEmbeddings, source: SourceEmbeddings, target: Target
) -> TargetEmbeddings:
    """`tables` with the rows of target tokens that are source tokens (exact canonical bytes)
    replaced by those source rows, in place; `copied` and the counts updated."""
    ov = overlap(target.vocab, source.vocab)
    t, s = ov.target_ids.astype(np.int64), ov.source_ids.astype(np.int64)
    tables.input_embeddings[t] = source.input_embeddings[s]
    if tables.output_embeddings is not None and source.output_embeddings is not None:
        tables.output_embeddings[t] = source.output_embeddings[s]
    if tables.output_bias is not None and source.output_bias is not None:
        tables.output_bias[t] = source.output_bias[s]
    copied = np.zeros(tables.input_embeddings.shape[0], bool)
    if tables.copied is not None:
        copied |= tables.copied
    copied[t] = True
    tables.copied = copied
    tables.info.update(
        n_copied=int(copied.sum()),
        n_initialised=int(copied.size - copied.sum()),
        n_overlap_copied=int(t.size),
    )
    return tables


def _compute(
    source: SourceEmbeddings, target: Target, opts: HypernetOptions, inputs: MethodInputs
) -> TargetEmbeddings:
    lang = opts.language(inputs)  # before loading: a missing or unknown language fails first
    hn = load_for_source(opts.path, source)
    if opts.decomposition == "tokenizer":
        if source.tokenizer is None:
            raise ValueError(
                "hypernet with decomposition=tokenizer needs the source tokenizer "
                "(SourceEmbeddings.tokenizer)"
            )
        dec = Decomposer(source.tokenizer, maxlen=hn.cfg.surface_maxlen)
    else:
        dec = Decomposer(source.vocab, maxlen=hn.cfg.surface_maxlen)
    tables = predict_embeddings(
        hn,
        dec,
        target.vocab,
        source.output_bias,
        chunk=opts.chunk,
        progress=inputs.progress,
        pack_width=opts.pack_width,
        lang=lang,
    )
    tables.info["identity_reconstruction"] = overlap_reconstruction(tables, source, target)
    return copy_overlap(tables, source, target) if opts.copy_overlap else tables


def overlap_reconstruction(
    tables: TargetEmbeddings, source: SourceEmbeddings, target: Target
) -> dict[str, dict[str, float]]:
    """How well the predictions reproduce the source rows of the target tokens the source has
    (`zett.eval.reconstruction_stats` per table), measured before any copying: on the source's
    own tokenizer this is the whole source vocabulary."""
    from zett.eval.reconstruction import reconstruction_stats

    ov = overlap(target.vocab, source.vocab)
    t, s = ov.target_ids.astype(np.int64), ov.source_ids.astype(np.int64)
    out = {"input": reconstruction_stats(tables.input_embeddings[t], source.input_embeddings[s])}
    if tables.output_embeddings is not None and source.output_embeddings is not None:
        out["output"] = reconstruction_stats(
            tables.output_embeddings[t], source.output_embeddings[s]
        )
    return out


register(
    Method(
        "hypernet",
        HypernetOptions,
        _compute,
        argument="path",
        metavar="DIR",
        summary="a trained zett hypernetwork predicts each target row from the token's text",
    )
)
