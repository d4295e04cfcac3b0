"""The batch iterator of a hypernetwork run: identity warm-up batches, then collated text batches, each
placed on the device mesh."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from jax.sharding import Mesh

from zett.hypernet.batch import identity_batch
from zett.hypernet.global_batch import DataParts, global_batch
from zett.hypernet.train_config import TrainConfig
from zett.parallel import shard_batch
from zett.sampling import BatchStream, CorpusTexts, PipelineState
from zett.training import StepInput

IDENTITY, MAIN = "identity", "main"  # the phases: regress onto source rows, then the LM loss


class TrainBatches:
    """Step t's `StepInput` from step `start` on: for t < `optim.identity_steps` an identity batch of
    random source tokens, then the collated text batches of this process's data parts, opened at the
    first text step. Batch t is a function of (config, data, t) alone, so a resumed run sees the very
    batches the interrupted one would have. Close it (or use it as a context manager) to stop the
    collator workers."""

    def __init__(
        self,
        cfg: TrainConfig,
        tokenizer: Any,
        source_vocab_size: int,
        specials: np.ndarray,
        mesh: Mesh,
        parts: DataParts,
        start: int = 0,
        data_state: dict[str, Any] | None = None,
    ):
        self.cfg, self.tokenizer, self.mesh, self.parts = cfg, tokenizer, mesh, parts
        self.source_vocab_size, self.specials = source_vocab_size, specials
        self._step = start
        self._data_state = data_state or {"pipeline": PipelineState().to_dict()}
        self._streams: list[BatchStream] = []

    def __iter__(self) -> TrainBatches:
        return self

    def __next__(self) -> StepInput:
        cfg, rules = self.cfg, self.cfg.mesh.rules
        step = self._step
        self._step += 1
        if step < cfg.optim.identity_steps:
            k = cfg.collator.n_subsample or cfg.collator.sampler.vocab_size
            batch = identity_batch(self.source_vocab_size, self.specials, k, step, cfg.seed)
            return StepInput(shard_batch(batch, self.mesh, rules), IDENTITY)
        if not self._streams:
            self._streams = self._open()
        local = [next(s) for s in self._streams]
        full_vocab = cfg.collator.n_subsample is None
        return StepInput(
            global_batch(local, self.parts, self.mesh, rules, full_vocab=full_vocab),
            MAIN,
            tokens=sum(int(b.attention_mask.sum()) for b in local),  # this host's share
        )

    def state(self) -> dict[str, Any]:
        """Where the next batch comes from (the checkpoint's data state); every part is at the same
        step."""
        if not self._streams:
            return self._data_state
        return {"pipeline": self._streams[0].state().to_dict()}

    def _open(self) -> list[BatchStream]:
        """One batch stream per part this process builds; each part's subset holds n_subsample / parts
        rows."""
        cfg, count = self.cfg, self.parts.count
        texts = CorpusTexts.load(cfg.data.train, "train", cfg.data.langs)
        collator = cfg.collator
        if count > 1 and collator.n_subsample is not None:
            if collator.n_subsample % count:
                raise ValueError(
                    f"collator.n_subsample {collator.n_subsample} must divide into {count} data "
                    f"parts"
                )
            collator = replace(collator, n_subsample=collator.n_subsample // count)
        state = PipelineState.from_dict(self._data_state["pipeline"])
        return [
            BatchStream(collator, texts, self.tokenizer, state, part=(p, count))
            for p in self.parts.local
        ]

    def close(self) -> None:
        for s in self._streams:
            s.close()

    def __enter__(self) -> TrainBatches:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
