"""The batch of a fine-tuning step and the iterator that draws it from the blocks: batch t is a
function of (blocks, seed, t) alone, so a resumed run sees exactly the batches the interrupted one
would have, and every method probed with the same seed sees the same data in the same order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from zett.finetune.blocks import Blocks
from zett.hypernet import DataParts
from zett.parallel import batch_field_sharding, shard_batch
from zett.sampling.batch import IGNORE
from zett.training import StepInput


@dataclass(frozen=True)
class LMBatch:
    """input_ids       [batch, block] int32 (MLM: after masking)
    attention_mask  [batch, block] int32, all ones (blocks are packed, never padded)
    labels          [batch, block] int32, −1 where there is no loss (causal: the tokens themselves,
                    the step shifts; MLM: the original token at masked positions)
    n_bytes         [batch] int32 UTF-8 bytes of the labelled tokens (causal: positions 1…)"""

    input_ids: Any
    attention_mask: Any
    labels: Any
    n_bytes: Any


jax.tree_util.register_dataclass(
    LMBatch, data_fields=["input_ids", "attention_mask", "labels", "n_bytes"], meta_fields=[]
)


@dataclass(frozen=True)
class Masking:
    """MLM corruption (BERT): `probability` of the regular tokens are labelled; of those 80% become
    `mask_id`, 10% a random regular token below `vocab_size`, 10% stay."""

    probability: float
    mask_id: int
    special_ids: tuple[int, ...]
    vocab_size: int


def block_order(n_blocks: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Block indices [batch_size] of global batch `step`: a fresh permutation of the blocks each
    epoch (the incomplete last batch of an epoch is dropped)."""
    per_epoch = n_blocks // batch_size
    if per_epoch < 1:
        raise ValueError(
            f"the training text gives {n_blocks} blocks, fewer than data.batch_size={batch_size}"
        )
    epoch, i = divmod(step, per_epoch)
    perm = np.random.default_rng([seed, epoch, 11]).permutation(n_blocks)
    return perm[i * batch_size : (i + 1) * batch_size]


def make_rows(
    blocks: Blocks,
    rows: np.ndarray,
    causal: bool,
    masking: Masking | None,
    rng: np.random.Generator,
) -> LMBatch:
    """The host arrays of the given blocks."""
    ids = blocks.ids[rows]
    nb = blocks.n_bytes[rows]
    if causal:
        labels = ids
        n_bytes = nb[:, 1:].sum(1)
        inputs = ids
    else:
        inputs, labels = mask_tokens(ids, masking, rng)
        n_bytes = np.where(labels >= 0, nb, 0).sum(1)
    return LMBatch(
        input_ids=inputs.astype(np.int32),
        attention_mask=np.ones_like(ids, np.int32),
        labels=labels.astype(np.int32),
        n_bytes=n_bytes.astype(np.int32),
    )


def mask_tokens(
    ids: np.ndarray, masking: Masking, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """→ (corrupted inputs, labels) for masked-LM training."""
    candidates = ~np.isin(ids, np.asarray(masking.special_ids, np.int64))
    chosen = candidates & (rng.random(ids.shape) < masking.probability)
    labels = np.where(chosen, ids, IGNORE)
    u = rng.random(ids.shape)
    inputs = ids.copy()
    inputs[chosen & (u < 0.8)] = masking.mask_id
    to_random = chosen & (u >= 0.8) & (u < 0.9)
    regular = np.setdiff1d(np.arange(masking.vocab_size), masking.special_ids)
    inputs[to_random] = rng.choice(regular, size=int(to_random.sum()))
    return inputs, labels


def place(batch: LMBatch, mesh: Mesh, rules) -> LMBatch:
    """This process's rows → the global batch on `mesh` (rows over the data axes)."""
    if jax.process_count() == 1:
        return shard_batch(batch, mesh, rules)
    n_proc = jax.process_count()
    placed = {}
    for name in ("input_ids", "attention_mask", "labels", "n_bytes"):
        v = np.asarray(getattr(batch, name))
        shape = (v.shape[0] * n_proc, *v.shape[1:])
        sharding = batch_field_sharding(name, shape, mesh, rules)
        placed[name] = jax.make_array_from_process_local_data(sharding, v, shape)
    return LMBatch(**placed)


class BlockBatches:
    """`StepInput`s from global step `start` on. `phases` [(name, end step)] label each step; the
    global batch is built in `parts.count` equal parts (this process builds `parts.local`), each
    masked with its own generator, so one process with `data_parts=N` reproduces an N-host run."""

    def __init__(
        self,
        blocks: Blocks,
        batch_size: int,
        seed: int,
        causal: bool,
        masking: Masking | None,
        mesh: Mesh,
        rules,
        parts: DataParts,
        phases: list[tuple[str, int]],
        start: int = 0,
    ):
        if batch_size % parts.count:
            raise ValueError(f"data.batch_size {batch_size} must divide into {parts.count} parts")
        self.blocks, self.batch_size, self.seed = blocks, batch_size, seed
        self.causal, self.masking, self.mesh, self.rules = causal, masking, mesh, rules
        self.parts, self.phases = parts, phases
        self.step = start
        block_order(len(blocks), batch_size, seed, 0)  # too little text fails here, not mid-run

    def __iter__(self) -> BlockBatches:
        return self

    def host_batch(self, step: int, parts=None) -> LMBatch:
        """The rows of global batch `step` that `parts` (default: this process's) build, on the
        host."""
        order = block_order(len(self.blocks), self.batch_size, self.seed, step)
        size = self.batch_size // self.parts.count
        pieces = [
            make_rows(
                self.blocks,
                order[p * size : (p + 1) * size],
                self.causal,
                self.masking,
                np.random.default_rng([self.seed, step, p, 13]),
            )
            for p in (self.parts.local if parts is None else parts)
        ]
        return LMBatch(
            *(np.concatenate([getattr(b, f) for b in pieces]) for f in LMBatch.__dataclass_fields__)
        )

    def __next__(self) -> StepInput:
        step = self.step
        self.step += 1
        batch = self.host_batch(step)
        phase = next((name for name, end in self.phases if step < end), self.phases[-1][0])
        return StepInput(
            place(batch, self.mesh, self.rules), phase, tokens=int(batch.attention_mask.sum())
        )

    def state(self) -> dict[str, Any]:
        """Where the next batch comes from (the checkpoint's data state)."""
        return {"step": self.step, "blocks": self.blocks.fingerprint}
