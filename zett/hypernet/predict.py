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


def predict_surface(
    hypernet: Hypernet,
    ids: np.ndarray,
    lengths: np.ndarray,
    chunk: int = 4096,
    progress: bool = True,
    pack_width: int | None = None,
    lang: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Surface forms [n, maxlen] → (input [n, embed], output or None, bias or None); chunks are
    padded to `chunk` rows and share one packed shape, so the hypernet compiles once.

    Each chunk is computed packed (`zett.hypernet.packing`, rows of `pack_width` positions; default
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
    starts = range(0, n, chunk)
    pack = None
    if width:  # one row count for every chunk (the padding rows of the last one have length 1)
        rows = max(
            pack_rows(
                np.pad(lengths[s : s + chunk], (0, max(0, s + chunk - n)), constant_values=1),
                maxlen,
                width,
            )
            for s in starts
        )
        pack = (rows, width)
    outs: list[list[np.ndarray]] = [[], [], []]
    for start in tqdm(starts, desc="hypernet", disable=not progress, leave=False):
        part = slice(start, min(start + chunk, n))
        m = part.stop - part.start
        padded_ids = np.zeros((chunk, maxlen), np.int32)
        padded_len = np.ones((chunk,), np.int32)
        padded_ids[:m], padded_len[:m] = ids[part], lengths[part]
        predicted = _predict(hypernet, padded_ids, padded_len, pack=pack, language=language)
        for slot, value in zip(outs, predicted):
            if value is not None:
                slot.append(np.asarray(value)[:m])
    return tuple(np.concatenate(o) if o else None for o in outs)  # type: ignore[return-value]


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
