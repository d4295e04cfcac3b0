"""The training batch the hypernetwork step consumes: texts under a sampled vocabulary subset."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np


@jax.tree_util.register_dataclass
@dataclass
class HypernetBatch:
    """One step's inputs; every shape is static so the step compiles once.

    input_ids:        [batch, seq] ids into the vocabulary subset (0..subset-1) attention_mask:
    [batch, seq] 1 = token, 0 = pad labels:           [batch, seq] next-token (causal) or
    masked-token (MLM) targets in subset ids, -1 = none surface_ids:      [subset, maxlen] source
    ids (≥ source vocab = byte fallback) per subset token surface_lengths:  [subset] pieces per
    token (0 on padding rows) special_source_ids: [subset] source id to copy verbatim (special
    tokens), -1 = predict source_ids:       [subset] id of the same string in the source vocab (aux
    loss), -1 = none vocab_mask:       [subset] True for real rows; padding rows never receive
    probability n_bytes:          [batch] UTF-8 bytes of each text (bits per byte)"""

    input_ids: jax.Array
    attention_mask: jax.Array
    labels: jax.Array
    surface_ids: jax.Array
    surface_lengths: jax.Array
    special_source_ids: jax.Array
    source_ids: jax.Array
    vocab_mask: jax.Array
    n_bytes: jax.Array

    @classmethod
    def identity(
        cls, source_ids: np.ndarray, maxlen: int, specials: np.ndarray | None = None
    ) -> HypernetBatch:
        """Identity warm-up batch: random source tokens, each its own length-1 surface form."""
        k = len(source_ids)
        surface = np.zeros((k, maxlen), np.int32)
        surface[:, 0] = source_ids
        empty = np.zeros((1, 1), np.int32)
        special = np.full((k,), -1, np.int32)
        if specials is not None:
            special[np.isin(source_ids, specials)] = source_ids[np.isin(source_ids, specials)]
        return cls(
            input_ids=empty,
            attention_mask=empty,
            labels=np.full((1, 1), -1, np.int32),
            surface_ids=surface,
            surface_lengths=np.ones((k,), np.int32),
            special_source_ids=special,
            source_ids=source_ids.astype(np.int32),
            vocab_mask=np.ones((k,), bool),
            n_bytes=np.zeros((1,), np.int32),
        )
