"""Checks before any training: the checkpoint's vocabulary and its tokenizer belong together, and
the rows a config calls new exist."""

from __future__ import annotations

import re

import numpy as np

from zett.models import LanguageModel
from zett.tokenization import CanonicalVocab, LoadedTokenizer, canonicalize, load_tokenizer, overlap


class VocabMismatchError(ValueError):
    """The checkpoint's embedding rows, its config's special ids and its tokenizer disagree."""


def check_vocab(
    model: LanguageModel, tokenizer: LoadedTokenizer, vocab: CanonicalVocab, label: str
):
    """Every id the tokenizer can produce has a row (rows beyond the tokenizer, e.g. padding to a
    multiple of 64, are allowed), the LM head has as many rows as the embedding, and the BOS / EOS
    / PAD ids of the config are special tokens of this tokenizer."""
    rows = int(model.get_input_embeddings().shape[0])
    n_tok = tokenizer.tokenizer.get_vocab_size(with_added_tokens=True)
    if n_tok > rows:
        raise VocabMismatchError(
            f"{label}: the tokenizer ({tokenizer.source}) has {n_tok} tokens but the embedding has "
            f"{rows} rows: they do not belong together (a tokenizer from another checkpoint?)"
        )
    out_rows = int(model.get_output_embeddings().shape[0])
    if out_rows != rows:
        raise VocabMismatchError(
            f"{label}: the LM head has {out_rows} rows, the input embedding {rows}"
        )
    specials = {s.id: s.token for s in vocab.specials}
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(model.config, key)
        if value is None:
            continue
        if not 0 <= value < n_tok:
            raise VocabMismatchError(
                f"{label}: config.json says {key}={value}, but the tokenizer has ids 0..{n_tok - 1}"
            )
        if value not in specials:
            token = tokenizer.tokenizer.id_to_token(value)
            raise VocabMismatchError(
                f"{label}: config.json says {key}={value}, but the tokenizer's token {value} is "
                f"{token!r}, not a special token: config and tokenizer do not belong together"
            )


_RANGES = re.compile(r"\s*\d+\s*:\s*\d+\s*(,\s*\d+\s*:\s*\d+\s*)*")


def new_row_mask(spec: str, rows: int, vocab: CanonicalVocab) -> np.ndarray | None:
    """`new_rows` → bool [rows] (None when `spec` is empty).

    "lo:hi,...": half-open id ranges, each inside the model's rows. Anything else names the old
    tokenizer: the rows whose tokens (canonical bytes; specials by text) it does not have."""
    if not spec:
        return None
    mask = np.zeros(rows, bool)
    if _RANGES.fullmatch(spec):
        for part in spec.split(","):
            lo, hi = (int(x) for x in part.split(":"))
            if not 0 <= lo < hi:
                raise ValueError(f"new_rows: range {lo}:{hi} is empty (want lo < hi)")
            if hi > rows:
                raise ValueError(
                    f"new_rows: range {lo}:{hi} names rows the model does not have (it has "
                    f"{rows}: ids 0..{rows - 1})"
                )
            mask[lo:hi] = True
    else:
        try:
            old = canonicalize(load_tokenizer(spec))
        except Exception as e:  # any failure to read it means one thing to the user
            raise ValueError(
                f"new_rows: {spec!r} is neither id ranges (lo:hi,...) nor a loadable tokenizer "
                f"({type(e).__name__}: {e})"
            ) from None
        mask[: vocab.size] = True
        mask[overlap(vocab, old).target_ids] = False
        old_specials = {s.token for s in old.specials}
        for s in vocab.specials:
            if s.token in old_specials:
                mask[s.id] = False
    if not mask.any():
        raise ValueError(f"new_rows: {spec!r} names no row of the model's {rows}")
    return mask
