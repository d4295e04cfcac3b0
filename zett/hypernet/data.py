"""The batch iterator of a hypernetwork run: identity warm-up batches, then collated text batches, each
placed on the device mesh."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from zett.hypernet.batch import identity_batch
from zett.hypernet.global_batch import DataParts, global_batch
from zett.hypernet.train_config import TrainConfig
from zett.parallel import allgather_bytes, shard_batch
from zett.sampling import BatchStream, CorpusTexts, PipelineState
from zett.training import StepInput

IDENTITY, MAIN = "identity", "main"  # the phases: regress onto source rows, then the LM loss


def training_languages(cfg: TrainConfig) -> tuple[str, ...]:
    """The languages of a language-conditioned hypernet's embedding rows: the training corpus's
    (`data.langs` of `data.train`, sorted, as the batches index them), fixed when training starts;
    () without `hypernet.lang_embedding`. Fails on a `hypernet.languages` that differs from them and
    on a monolingual validation language the hypernet would not know."""
    if not cfg.hypernet.lang_embedding:
        return ()
    languages = CorpusTexts.load(cfg.data.train, "train", cfg.data.langs).languages
    if cfg.hypernet.languages and tuple(cfg.hypernet.languages) != languages:
        raise ValueError(
            f"hypernet.languages {list(cfg.hypernet.languages)} differ from the languages of "
            f"data.train {cfg.data.train} {list(languages)}; leave it empty"
        )
    unknown = sorted({v.lang for v in cfg.monolingual_validation} - set(languages))
    if unknown:
        raise ValueError(
            f"monolingual_validation languages {unknown} are not training languages "
            f"{list(languages)}: the hypernet has no embedding for them"
        )
    return languages


class TrainBatches:
    """Step t's `StepInput` from step `start` on: for t < `optim.identity_steps` an identity batch of
    random source tokens, then the collated text batches of this process's data parts, opened at the
    first text step. Batch t is a function of (config, data, t) alone, so a resumed run sees the very
    batches the interrupted one would have. Close it (or use it as a context manager) to stop the
    collator workers.

    `languages` (a language-conditioned hypernet's, `training_languages`): text batches carry their
    language's index among them, identity batches a seeded random one (so the identity phase
    trains every language's embedding); the data state records them, so a resumed run whose corpus
    gives other languages fails instead of mixing up the embedding's rows."""

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
        languages: tuple[str, ...] = (),
    ):
        self.cfg, self.tokenizer, self.mesh, self.parts = cfg, tokenizer, mesh, parts
        self.source_vocab_size, self.specials = source_vocab_size, specials
        self.languages = tuple(languages)
        self._step = start
        self._data_state = data_state or {"pipeline": PipelineState().to_dict()}
        saved = self._data_state.get("languages")
        if saved is not None and tuple(saved) != self.languages:
            raise ValueError(
                f"{cfg.workdir}: the run was started with languages {list(saved)}, the corpus now "
                f"gives {list(self.languages)}; resume it on the same data.train / data.langs"
            )
        self._stream: BatchStream | None = None

    def __iter__(self) -> TrainBatches:
        return self

    def __next__(self) -> StepInput:
        cfg, rules = self.cfg, self.cfg.mesh.rules
        step = self._step
        self._step += 1
        if step < cfg.optim.identity_steps:
            k = cfg.collator.n_subsample or cfg.collator.sampler.vocab_size
            batch = identity_batch(self.source_vocab_size, self.specials, k, step, cfg.seed)
            if self.languages:
                pick = np.random.default_rng([cfg.seed, step, 8]).integers(len(self.languages))
                batch = replace(batch, language=np.asarray(pick, np.int32))
            return StepInput(shard_batch(batch, self.mesh, rules), IDENTITY)
        if self._stream is None:
            self._stream = self._open()
        local = next(self._stream)
        full_vocab = cfg.collator.n_subsample is None
        return StepInput(
            global_batch(local, self.parts, self.mesh, rules, full_vocab=full_vocab),
            MAIN,
            tokens=sum(int(b.attention_mask.sum()) for b in local),  # this host's share
        )

    def state(self) -> dict[str, Any]:
        """Where the next batch comes from (the checkpoint's data state); every part is at the same
        step."""
        state = (
            self._data_state
            if self._stream is None
            else {"pipeline": self._stream.state().to_dict()}
        )
        return {**state, "languages": list(self.languages)} if self.languages else state

    def _open(self) -> BatchStream:
        """The batch stream of the parts this process builds; each part's subset holds n_subsample /
        parts rows. With several processes they share their substring statistics each step
        (`allgather_bytes`) instead of each counting the whole global batch."""
        cfg, count = self.cfg, self.parts.count
        texts = CorpusTexts.load(cfg.data.train, "train", cfg.data.langs)
        if self.languages and texts.languages != self.languages:
            raise ValueError(
                f"data.train {cfg.data.train} now has languages {list(texts.languages)}, the "
                f"hypernet's embedding rows are {list(self.languages)}"
            )
        collator = cfg.collator
        if count > 1 and collator.n_subsample is not None:
            if collator.n_subsample % count:
                raise ValueError(
                    f"collator.n_subsample {collator.n_subsample} must divide into {count} data "
                    f"parts"
                )
            collator = replace(collator, n_subsample=collator.n_subsample // count)
        state = PipelineState.from_dict(self._data_state["pipeline"])
        exchange = allgather_bytes if jax.process_count() > 1 else None
        return BatchStream(collator, texts, self.tokenizer, state, self.parts, exchange)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def __enter__(self) -> TrainBatches:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
