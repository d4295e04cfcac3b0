"""Predicting a whole target vocabulary's embeddings with a hypernetwork, in fixed-size chunks."""

from __future__ import annotations

import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from zett.heuristics.base import TargetEmbeddings
from zett.hypernet.model import Hypernet
from zett.sampling.packing import pack_rows
from zett.tokenization import CanonicalVocab, Decomposer, map_specials


@nnx.jit(static_argnames="pack")
def _predict(hypernet: Hypernet, ids, lengths, pack: tuple[int, int] | None = None, language=None):
    out = hypernet(ids, lengths, pack=pack, language=language)
    return out.input_embeddings, out.output_embeddings, out.bias


def chunk_plan(
    lengths: np.ndarray, chunk: int, maxlen: int, width: int
) -> list[tuple[np.ndarray, int]]:
    """The calls that predict surface forms of these lengths ([n], ≥ 1), `chunk` tokens each: (the
    token indices of the call, its packed row count; 0 in the padded layout, `width` 0).

    Packed, the tokens go shortest first, so a call holds forms of similar length and needs only
    the rows its own pieces fill: a vocabulary's long forms cluster (a tokenizer's CJK block), and
    one row count for every call, that of the fullest, computed 834k positions for Qwen2's 383,934
    pieces under SmolLM2's hypernet; by length, 411k. Row counts are `pack_rows`' multiples of 16,
    so a vocabulary compiles a handful of shapes."""
    n = len(lengths)
    order = np.argsort(lengths, kind="stable") if width else np.arange(n)
    plan = []
    for start in range(0, n, chunk):
        part = order[start : start + chunk]
        rows = 0
        if width:  # the padding tokens of the last call have length 1
            rows = pack_rows(np.pad(lengths[part], (0, chunk - len(part)), constant_values=1),
                             maxlen, width)  # fmt: skip
        plan.append((part, rows))
    return plan


def predict_surface(
    hypernet: Hypernet,
    ids: np.ndarray,
    lengths: np.ndarray,
    chunk: int = 4096,
    progress: bool = True,
    pack_width: int | None = None,
    lang: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Surface forms [n, maxlen] → (input [n, embed], output or None, bias or None), in calls of
    `chunk` tokens (`chunk_plan`; the last one padded).

    Each call is computed packed (`zett.hypernet.packing`, rows of `pack_width` positions; default
    4 × maxlen, 0 = the padded layout): FLOPs for the real pieces only, the same embeddings up to
    float reassociation. `lang`: the language of the target text, required by (and only by) a
    hypernet trained with language embeddings (`HypernetConfig.language_index`), which computes in
    the padded layout."""
    language = hypernet.cfg.language_index(lang)
    maxlen = hypernet.cfg.surface_maxlen
    if ids.shape[1] != maxlen:
        raise ValueError(f"surface forms have maxlen {ids.shape[1]}, the hypernet expects {maxlen}")
    n = ids.shape[0]
    lengths = np.maximum(lengths, 1)
    width = 4 * maxlen if pack_width is None else pack_width
    if language is not None:
        width, language = 0, np.asarray(language, np.int32)
    outs: list[np.ndarray | None] = [None, None, None]
    for part, rows in tqdm(chunk_plan(lengths, chunk, maxlen, width), desc="hypernet",
                           disable=not progress, leave=False):  # fmt: skip
        m = len(part)
        padded_ids = np.zeros((chunk, maxlen), np.int32)
        padded_len = np.ones((chunk,), np.int32)
        padded_ids[:m], padded_len[:m] = ids[part], lengths[part]
        pack = (rows, width) if width else None
        predicted = _predict(hypernet, padded_ids, padded_len, pack=pack, language=language)
        for i, value in enumerate(predicted):
            if value is not None:
                value = np.asarray(value)
                if outs[i] is None:
                    outs[i] = np.empty((n, *value.shape[1:]), value.dtype)
                outs[i][part] = value[:m]
    return tuple(outs)  # type: ignore[return-value]


def predict_tokens(
    hypernet: Hypernet,
    decomposer: Decomposer,
    tokens: list[str],
    progress: bool = False,
    lang: str | None = None,
):
    """Embeddings for arbitrary canonical byte-level token strings (e.g. tokens added to a
    vocabulary); `lang` as in `predict_surface`."""
    forms = decomposer(tokens)
    return predict_surface(hypernet, forms.ids, forms.lengths, progress=progress, lang=lang)


def predict_embeddings(
    hypernet: Hypernet,
    decomposer: Decomposer,
    target: CanonicalVocab,
    source_output_bias: np.ndarray | None = None,
    chunk: int = 4096,
    progress: bool = True,
    pack_width: int | None = None,
    lang: str | None = None,
) -> TargetEmbeddings:
    """[target_vocab, embed] tables: specials copied from the source rows of the same role (logit
    bias included: `source_output_bias`, else the one the hypernet was built with), every other
    token predicted from its surface form (in language `lang`: see `predict_surface`)."""
    hypernet.cfg.language_index(lang)  # before decomposing the vocabulary
    forms = decomposer.decompose_vocab(target)
    n = forms.ids.shape[0]
    e_in, e_out, bias = predict_surface(
        hypernet, forms.ids, forms.lengths, chunk, progress, pack_width, lang
    )
    table = np.asarray(hypernet.source_table[...])
    d = hypernet.embed_dim
    specials = map_specials(target, decomposer.canonical)
    if bias is not None and source_output_bias is None:
        source_output_bias = np.asarray(hypernet.source_bias[...])
    copied = np.zeros(n, bool)
    for t_id, s_id in specials.items():
        copied[t_id] = True
        e_in[t_id] = table[s_id, :d]
        if e_out is not None:
            e_out[t_id] = table[s_id, d:]
        if bias is not None:
            bias[t_id] = source_output_bias[s_id]
    return TargetEmbeddings(
        input_embeddings=e_in,
        output_embeddings=e_out,
        output_bias=bias,
        copied=copied,
        info={
            "method": "hypernet",
            "n_target": int(n),
            "n_copied": int(copied.sum()),
            "n_initialised": int(n - copied.sum()),
            "n_truncated": int(forms.n_truncated),
            **({"lang": lang} if lang is not None else {}),
        },
    )
