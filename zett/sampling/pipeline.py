"""Seeded, resumable stream of collated batches, built ahead in background worker processes."""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batch import Batch
from .collator import Collator
from .config import CollatorConfig
from .pretokenize import pre_tokenize
from .substrings import merge_stats, stats_from_bytes, stats_to_bytes
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

# a collective over the hosts of a run: this host's bytes → every host's, in host order. Called
# once per step, in step order, by the process driving the stream (never by worker processes).
Exchange = Callable[[bytes], list[bytes]]


@dataclass(frozen=True)
class DataParts:
    """The global batch is `count` equal blocks of text rows; this host builds `local` of them (one
    contiguous run, hosts in order: host h of n builds parts h·count/n … (h+1)·count/n − 1)."""

    count: int = 1
    local: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        local = tuple(self.local)
        if (
            self.count < 1
            or not local
            or local != tuple(range(local[0], local[0] + len(local)))
            or not 0 <= local[0] <= local[-1] < self.count
        ):
            raise ValueError(f"data parts {local} of {self.count}: need a consecutive run in range")

    @classmethod
    def of_host(cls, count: int, host: int, hosts: int) -> DataParts:
        if hosts < 1 or not 0 <= host < hosts or count % hosts:
            raise ValueError(
                f"{count} data parts must be a multiple of the {hosts} hosts (host {host})"
            )
        per = count // hosts
        return cls(count, tuple(range(host * per, (host + 1) * per)))


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
    """Batch `step` of its stream (of `part` of it, see `make_batches`); the stream's window must
    already hold the previous batches."""
    index, count = part
    return make_batches(collator, source, step, DataParts(count, (index,)))[0]


def make_batches(
    collator: Collator,
    source: TextSource,
    step: int,
    parts: DataParts = DataParts(),
    exchange: Exchange | None = None,
) -> list[Batch]:
    """The batches of this host's `parts` of global batch `step`, one per part.

    Every host draws the same tokenizer: the one the whole global batch's substring statistics
    give. This host counts only its own parts' texts; `exchange` merges the counts of every host
    (`merge_stats`, exact). Without `exchange` the other parts are counted here too (a single
    process building some parts of an N-host run). Masking and negatives are seeded by (step,
    part), so `count` parts give the same batches however they are spread over hosts."""
    c = collator.config
    texts, langs = batch_texts(
        source, step, c.batch_size, c.max_chars, c.seed, c.lang_sampling == "one_per_batch"
    )
    rng = np.random.default_rng([c.seed, step, 1])
    stream = step % c.n_streams
    if parts.count == 1:  # the whole batch on one host
        return [collator(texts, rng, lang_ids=langs, step=step, stream=stream)]
    clock = time.process_time
    stages: dict[str, float] = {}  # CPU seconds per stage, summed over this host's parts

    def timed(out):
        for k, v in collator.timings.items():
            stages[k] = stages.get(k, 0.0) + v
        return out

    rows = {p: part_rows(c.batch_size, (p, parts.count)) for p in parts.local}
    counted = {p: timed(collator.count(texts[rows[p]], stream)) for p in parts.local}
    t0 = clock()
    local = merge_stats([counted[p][1] for p in parts.local])
    if exchange is not None:
        shares = [stats_from_bytes(b) for b in exchange(stats_to_bytes(local))]
    else:
        sampler = collator.sampler(stream)
        shares = [
            local
            if p == parts.local[0]
            else sampler.count(pre_tokenize(texts[part_rows(c.batch_size, (p, parts.count))]))
            for p in range(parts.count)
            if p not in parts.local[1:]
        ]
    merged = merge_stats(shares)
    stages["merge"] = clock() - t0
    vocab = timed(collator.draw(merged, rng, stream))
    batches = []
    for p in parts.local:
        pre, _, occurrences = counted[p]
        local_rng = np.random.default_rng([c.seed, step, 1, p])
        batches.append(
            timed(collator.encode(vocab, pre, occurrences, local_rng, langs[rows[p]], step))
        )
    collator.timings = stages
    return batches


def warm_up(collator: Collator, source: TextSource, step: int) -> None:
    """Refills the window of `step`'s stream with the batches it would hold just before `step`."""
    c = collator.config
    s = c.n_streams
    for past in range(step - s * (c.sampler.window - 1), step, s):
        if past >= 0:
            texts, _ = batch_texts(
                source, past, c.batch_size, c.max_chars, c.seed, c.lang_sampling == "one_per_batch"
            )
            collator.warm_up(texts, stream=past % s)


def _steps_of(worker: int, num_workers: int, n_streams: int, start: int) -> Iterator[int]:
    step = start
    while True:
        if (step % n_streams) % num_workers == worker:
            yield step
        step += 1


def _put(out: mp.Queue, item: Any, stop: mp.Event) -> bool:
    """Puts `item` unless the stream is stopped first; False when stopped."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _worker(
    config: CollatorConfig,
    source: TextSource,
    tokenizer: Any,
    worker: int,
    start: int,
    out: mp.Queue,
    stop: mp.Event,
    parts: DataParts,
    inbox: mp.Queue | None,
) -> None:
    """Builds this worker's steps in order, sending ("batch", step, batches) messages. With an
    `inbox` it sends each step's own statistics as ("stats", step, bytes) and waits there for every
    host's, which the driving process exchanges."""
    try:
        collator = Collator(config, tokenizer)
        warmed: set[int] = set()
        for step in _steps_of(worker, config.num_workers, config.n_streams, start):
            stream = step % config.n_streams
            if stream not in warmed:
                warm_up(collator, source, step)
                warmed.add(stream)

            def exchange(payload: bytes, step: int = step) -> list[bytes]:
                if not _put(out, ("stats", step, payload), stop):
                    raise _Stopped
                while not stop.is_set():
                    try:
                        return inbox.get(timeout=0.5)
                    except queue.Empty:
                        continue
                raise _Stopped

            batches = make_batches(
                collator, source, step, parts, exchange if inbox is not None else None
            )
            if not _put(out, ("batch", step, batches), stop):
                return
    except _Stopped:
        return
    except BaseException:  # the consumer re-raises it with the worker's traceback
        error = RuntimeError(f"collator worker {worker} failed:\n{traceback.format_exc()}")
        out.put(("error", -1, error))


class _Stopped(Exception):
    """The stream was closed while a worker waited."""


class BatchStream:
    """Iterates batches from `state.step` on: whole global batches, or with `parts` a tuple of this
    host's parts of each (see `make_batches`; `exchange` shares the substring statistics between
    hosts instead of counting every host's texts here).

    `num_workers` = 0 builds them in this process; otherwise each worker process owns the streams s
    with s % num_workers == its index and builds its steps in order, `prefetch` ahead. The batches
    are identical for any `num_workers` and across a save/resume (`state()` → `BatchStream(...,
    state)`). With `exchange` and workers, this process runs the exchange of step t + `prefetch`
    when step t is taken — every host the same steps in the same order, so the collectives line
    up. Use it as a context manager (or call `close`) to stop the workers."""

    def __init__(
        self,
        config: CollatorConfig,
        source: TextSource,
        tokenizer: Any,
        state: PipelineState = PipelineState(),
        parts: DataParts | None = None,
        exchange: Exchange | None = None,
    ):
        self.parts = parts or DataParts()
        part_rows(config.batch_size, (self.parts.local[0], self.parts.count))  # validates
        self.whole = parts is None
        self.config, self.source, self.tokenizer = config, source, tokenizer
        self.exchange = exchange if self.parts.count > 1 else None
        self._step = state.step
        self._exchanged = state.step - 1  # the last step whose statistics were exchanged
        self._workers: list[Any] = []
        self._queues: list[Any] = []
        self._inboxes: list[Any] = []
        self._held: dict[tuple[str, int], Any] = {}  # messages that arrived before they were due
        if config.num_workers == 0:
            self._collator = Collator(config, tokenizer)
            self._warmed: set[int] = set()
        else:
            ctx = mp.get_context("spawn")  # no fork: the parent may hold JAX / Rust thread pools
            self._stop = ctx.Event()
            for w in range(config.num_workers):
                q = ctx.Queue(maxsize=max(1, config.prefetch))
                inbox = ctx.Queue() if self.exchange is not None else None
                p = ctx.Process(
                    target=_worker,
                    args=(
                        config,
                        source,
                        tokenizer,
                        w,
                        state.step,
                        q,
                        self._stop,
                        self.parts,
                        inbox,
                    ),
                    daemon=True,
                )
                p.start()
                self._workers.append(p)
                self._queues.append(q)
                self._inboxes.append(inbox)

    def state(self) -> PipelineState:
        """Resume point: the next batch to be returned."""
        return PipelineState(self._step)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Batch | tuple[Batch, ...]:
        step = self._step
        c = self.config
        if c.num_workers == 0:
            stream = step % c.n_streams
            if stream not in self._warmed:
                warm_up(self._collator, self.source, step)
                self._warmed.add(stream)
            batches = make_batches(self._collator, self.source, step, self.parts, self.exchange)
        else:
            if self.exchange is not None:
                while self._exchanged < step + c.prefetch:
                    s = self._exchanged + 1
                    w = self._worker_of(s)
                    self._inboxes[w].put(self.exchange(self._receive(w, "stats", s)))
                    self._exchanged = s
            batches = self._receive(self._worker_of(step), "batch", step)
        self._step += 1
        return batches[0] if self.whole else tuple(batches)

    def _worker_of(self, step: int) -> int:
        return (step % self.config.n_streams) % self.config.num_workers

    def _receive(self, w: int, kind: str, step: int) -> Any:
        """Worker `w`'s `kind` message of `step`, holding back any other message it sends first."""
        while (kind, step) not in self._held:
            try:
                got_kind, got_step, payload = self._queues[w].get(timeout=1.0)
            except queue.Empty:
                if not self._workers[w].is_alive():
                    raise RuntimeError(
                        f"collator worker {w} died (exit code {self._workers[w].exitcode})"
                    ) from None
                continue
            if got_kind == "error":
                self.close()
                raise payload
            if (got_kind, got_step) in self._held or got_step < step and got_kind == kind:
                raise RuntimeError(
                    f"collator worker {w} sent {got_kind} of step {got_step}, expected {step}"
                )
            self._held[(got_kind, got_step)] = payload
        return self._held.pop((kind, step))

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
