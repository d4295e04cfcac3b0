"""The training batch: texts under a sampled vocabulary, as the collator builds it and the hypernetwork's
train step consumes it. NumPy only; `zett.hypernet.batch` registers it as a JAX pytree whose leaves are
`STEP_FIELDS` (the host-side diagnostics are dropped on the way into a jitted function)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = -1  # label of positions without loss

TEXT_FIELDS = ("input_ids", "attention_mask", "labels", "n_bytes")  # [batch, ...]: one row per text
SUBSET_FIELDS = (  # [k, ...]: one row per token of the batch's vocabulary subset
    "surface_ids",
    "surface_lengths",
    "special_source_ids",
    "source_ids",
    "vocab_mask",
)
# what the train step reads, in the order of its (jit) arguments
STEP_FIELDS = (
    "input_ids",
    "attention_mask",
    "labels",
    "surface_ids",
    "surface_lengths",
    "special_source_ids",
    "source_ids",
    "vocab_mask",
    "n_bytes",
)
# read by the step when present: the batch's one language (one_per_batch sampling), [] int32 index
# into the corpus's sorted languages; None (no leaf, the step as before) on mixed batches
OPTIONAL_STEP_FIELDS = ("language",)
# static: the hypernetwork's packed layout (`pack`), part of the jitted step's signature
META_FIELDS = ("pack_rows", "pack_width")
# the collator's diagnostics: host-side only, never sent to a device
HOST_FIELDS = (
    "lang_ids",
    "vocab_ids",
    "vocab_scores",
    "step",
    "vocab_size",
    "sigma",
    "n_in_batch",
    "n_truncated",
)


@dataclass(frozen=True)
class Batch:
    """One training step's inputs. Token ids index the vocabulary subset (rows 0..k-1), not the sampled
    tokenizer; every shape is fixed by the config, so the step compiles once.

    input_ids           [batch, block] int32 (MLM: after masking)
    attention_mask      [batch, block] int32 (1 = token, 0 = pad; right padding)
    labels              [batch, block] int32, −1 where no loss (causal: every real token, the model
                        shifts; MLM: the original token at masked positions)
    surface_ids         [k, maxlen] int32 source ids (≥ source vocab size: byte fallbacks), 0-padded
    surface_lengths     [k] int32 pieces per token (special rows: 1, their source special id; padding
                        rows: 0)
    special_source_ids  [k] int32 source id copied verbatim for special rows, −1 = predict
    source_ids          [k] int32 id of the same bytes in the source vocabulary (aux loss), −1 = none
    vocab_mask          [k] bool, real rows (padding rows must get −inf logits)
    n_bytes             [batch] int32 UTF-8 bytes of the text the row's tokens cover (bits per byte)
    pack_rows, pack_width  the packed layout the hypernetwork computes the surface forms in
                        (`zett.sampling.packing`; 0 = the padded [k, maxlen] layout). Static: each
                        distinct row count compiles the step once, so rows are rounded up.
    language            [] int32, the language every text of the batch is in (one_per_batch
                        sampling; the row of a language-conditioned hypernet's embedding), else None

    Host-side diagnostics of the collator (None / 0 on batches built otherwise and inside jit):
    lang_ids            [batch] int32 language of each text
    vocab_ids           [k] int32 sampled-tokenizer id of each row (0 on padding rows)
    vocab_scores        [k] float32 Unigram log-probabilities (0 on padding rows)
    step, vocab_size, sigma, n_in_batch, n_truncated: the stream step, the sampled vocabulary's size and
    noise, distinct tokens the texts use, surface forms cut at maxlen."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    labels: np.ndarray
    surface_ids: np.ndarray
    surface_lengths: np.ndarray
    special_source_ids: np.ndarray
    source_ids: np.ndarray
    vocab_mask: np.ndarray
    n_bytes: np.ndarray
    pack_rows: int = 0
    pack_width: int = 0
    language: np.ndarray | None = None
    lang_ids: np.ndarray | None = None
    vocab_ids: np.ndarray | None = None
    vocab_scores: np.ndarray | None = None
    step: int = 0
    vocab_size: int = 0
    sigma: float = 0.0
    n_in_batch: int = 0
    n_truncated: int = 0

    @property
    def surface_mask(self) -> np.ndarray:
        """[k, maxlen] bool, True on real pieces."""
        return np.arange(self.surface_ids.shape[1])[None, :] < self.surface_lengths[:, None]

    @property
    def pack(self) -> tuple[int, int] | None:
        """(rows, width) of the packed layout, None for the padded one."""
        return (self.pack_rows, self.pack_width) if self.pack_rows else None

    @property
    def special_mask(self) -> np.ndarray:
        return self.special_source_ids >= 0

    @classmethod
    def identity(
        cls, source_ids: np.ndarray, maxlen: int, specials: np.ndarray | None = None
    ) -> Batch:
        """No text; the subset is `source_ids` [k], each token its own length-1 surface form (the
        hypernetwork's identity warm-up: regress onto the source rows)."""
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
            labels=np.full((1, 1), IGNORE, np.int32),
            surface_ids=surface,
            surface_lengths=np.ones((k,), np.int32),
            special_source_ids=special,
            source_ids=source_ids.astype(np.int32),
            vocab_mask=np.ones((k,), bool),
            n_bytes=np.zeros((1,), np.int32),
        )
