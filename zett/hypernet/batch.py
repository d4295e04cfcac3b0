"""The training batch as the jitted step sees it, and the identity warm-up batches.

The batch type is `zett.sampling.Batch` (the collator builds it, NumPy only). Registered here as a JAX
pytree: its leaves are `STEP_FIELDS` (and `language` where set), the packed layout's shape
(`META_FIELDS`) is static; the collator's host-side diagnostics are dropped on the way into a jitted
function, so they never reach a device nor cause a recompilation."""

from __future__ import annotations

import jax
import numpy as np

from zett.sampling.batch import HOST_FIELDS, META_FIELDS, OPTIONAL_STEP_FIELDS, STEP_FIELDS, Batch

jax.tree_util.register_dataclass(
    Batch,
    data_fields=[*STEP_FIELDS, *OPTIONAL_STEP_FIELDS],
    meta_fields=list(META_FIELDS),
    drop_fields=list(HOST_FIELDS),
)

# the identity batch of no step ever trained on: the anchors the output rescalers are fitted to
ANCHOR_STEP = 1 << 30


def identity_batch(source_vocab: int, specials: np.ndarray, k: int, step: int, seed: int) -> Batch:
    """k random regular source tokens, each its own length-1 surface form (the warm-up phase); one
    surface position only, so the phase costs a seventh of a full-width batch."""
    rng = np.random.default_rng([seed, step, 7])
    regular = np.setdiff1d(np.arange(source_vocab), specials)
    return Batch.identity(
        rng.choice(regular, size=min(k, regular.size), replace=False).astype(np.int32), 1
    )
