"""Seeded, resumable stream of collated batches, built ahead in background worker processes."""

from __future__ import annotations

import multiprocessing as mp
import queue
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batch import Batch
from .collator import Collator
from .config import CollatorConfig
from .texts import TextSource, batch_texts


@dataclass(frozen=True)
class PipelineState:
    """Everything needed to resume: batch t is a pure function of (config, data, tokenizer, t), and a
    stream's window is rebuilt by recounting its previous `window − 1` batches."""

    step: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"step": self.step}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineState:
        return cls(int(d["step"]))


Part = tuple[
    int, int
]  # (index, count): a host's share of every global batch; (0, 1) = the whole batch


def part_rows(batch_size: int, part: Part) -> slice:
    """The text rows of `part`: consecutive, equal blocks of the global batch."""
    index, count = part
    if count < 1 or not 0 <= index < count or batch_size % count:
        raise ValueError(
            f"batch_size {batch_size} cannot be split into part {index} of {count} equal parts"
        )
    size = batch_size // count
    return slice(index * size, (index + 1) * size)


def make_batch(collator: Collator, source: TextSource, step: int, part: Part = (0, 1)) -> Batch:
    """Batch `step` of its stream; the stream's window must already hold the previous batches.

    With `part` = (i, n), n > 1, only global rows `part_rows(i)` are encoded. The tokenizer depends
    on (step, the global batch's texts) alone, so every part draws the same one; masking and
    negatives are seeded by (step, i)."""
    c = collator.config
    texts, langs = batch_texts(source, step, c.batch_size, c.max_chars, c.seed)
    rng = np.random.default_rng([c.seed, step, 1])
    if part[1] == 1:
        return collator(texts, rng, lang_ids=langs, step=step, stream=step % c.n_streams)
    return collator(
        texts,
        rng,
        lang_ids=langs,
        step=step,
        stream=step % c.n_streams,
        rows=part_rows(c.batch_size, part),
        local_rng=np.random.default_rng([c.seed, step, 1, part[0]]),
    )


def warm_up(collator: Collator, source: TextSource, step: int) -> None:
    """Refills the window of `step`'s stream with the batches it would hold just before `step`."""
    c = collator.config
    s = c.n_streams
    for past in range(step - s * (c.sampler.window - 1), step, s):
        if past >= 0:
            texts, _ = batch_texts(source, past, c.batch_size, c.max_chars, c.seed)
            collator.warm_up(texts, stream=past % s)


def _steps_of(worker: int, num_workers: int, n_streams: int, start: int) -> Iterator[int]:
    step = start
    while True:
        if (step % n_streams) % num_workers == worker:
            yield step
        step += 1


def _worker(
    config: CollatorConfig,
    source: TextSource,
    tokenizer: Any,
    worker: int,
    start: int,
    out: mp.Queue,
    stop: mp.Event,
    part: Part = (0, 1),
) -> None:
    try:
        collator = Collator(config, tokenizer)
        warmed: set[int] = set()
        for step in _steps_of(worker, config.num_workers, config.n_streams, start):
            stream = step % config.n_streams
            if stream not in warmed:
                warm_up(collator, source, step)
                warmed.add(stream)
            batch = make_batch(collator, source, step, part)
            while not stop.is_set():
                try:
                    out.put(batch, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
    except BaseException:  # the consumer re-raises it with the worker's traceback
        out.put(RuntimeError(f"collator worker {worker} failed:\n{traceback.format_exc()}"))


class BatchStream:
    """Iterates batches (of `part` of every global batch, see `make_batch`) from `state.step` on.

    `num_workers` = 0 builds them in this process; otherwise each worker process owns the streams s
    with s % num_workers == its index and builds its steps in order, `prefetch` ahead. The batches
    are identical for any `num_workers` and across a save/resume (`state()` → `BatchStream(...,
    state)`). Use it as a context manager (or call `close`) to stop the workers."""

    def __init__(
        self,
        config: CollatorConfig,
        source: TextSource,
        tokenizer: Any,
        state: PipelineState = PipelineState(),
        part: Part = (0, 1),
    ):
        part_rows(config.batch_size, part)  # validates
        self.config, self.source, self.tokenizer, self.part = config, source, tokenizer, part
        self._step = state.step
        self._workers: list[Any] = []
        self._queues: list[Any] = []
        if config.num_workers == 0:
            self._collator = Collator(config, tokenizer)
            self._warmed: set[int] = set()
        else:
            ctx = mp.get_context("spawn")  # no fork: the parent may hold JAX / Rust thread pools
            self._stop = ctx.Event()
            for w in range(config.num_workers):
                q = ctx.Queue(maxsize=max(1, config.prefetch))
                p = ctx.Process(
                    target=_worker,
                    args=(config, source, tokenizer, w, state.step, q, self._stop, part),
                    daemon=True,
                )
                p.start()
                self._workers.append(p)
                self._queues.append(q)

    def state(self) -> PipelineState:
        """Resume point: the next batch to be returned."""
        return PipelineState(self._step)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Batch:
        step = self._step
        c = self.config
        if c.num_workers == 0:
            stream = step % c.n_streams
            if stream not in self._warmed:
                warm_up(self._collator, self.source, step)
                self._warmed.add(stream)
            batch = make_batch(self._collator, self.source, step, self.part)
        else:
            w = (step % c.n_streams) % c.num_workers
            while True:
                try:
                    batch = self._queues[w].get(timeout=1.0)
                    break
                except queue.Empty:
                    if not self._workers[w].is_alive():
                        raise RuntimeError(
                            f"collator worker {w} died (exit code {self._workers[w].exitcode})"
                        ) from None
            if isinstance(batch, BaseException):
                self.close()
                raise batch
            if batch.step != step:
                raise RuntimeError(
                    f"collator worker {w} returned step {batch.step}, expected {step}"
                )
        self._step += 1
        return batch

    def close(self) -> None:
        if self._workers:
            self._stop.set()
            for p in self._workers:
                p.join(timeout=5)
                if p.is_alive():
                    p.terminate()
            self._workers = []

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
