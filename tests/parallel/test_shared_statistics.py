"""Hosts that count only their own texts and merge everyone's substring statistics draw the very
tokenizer one host counting the whole batch draws: the merge is exact, and two simulated hosts with
collator worker processes reproduce the batches of a single process building both parts."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from zett.sampling import (
    BatchStream,
    BibleTexts,
    CollatorConfig,
    DataParts,
    PipelineState,
    SamplerConfig,
    batch_texts,
    count_substrings,
    merge_stats,
    pre_tokenize,
)
from zett.sampling.batch import STEP_FIELDS
from zett.sampling.substrings import SubstringStats, stats_from_bytes, stats_to_bytes

CONFIG = CollatorConfig(
    batch_size=8,
    max_chars=256,
    block_size=32,
    n_subsample=256,  # per part
    surface_maxlen=4,
    sampler=SamplerConfig(vocab_size=2048, window=3),
)


@pytest.fixture(scope="module")
def texts():
    source = BibleTexts(("k", "r", "c"))  # Latin, Cyrillic, Han: multi-byte characters
    len(source)
    return source


@pytest.mark.parametrize("hosts", [2, 3, 8])
def test_merged_counts_of_slices_are_the_whole_batch_counts(texts, hosts):
    batch, _ = batch_texts(texts, 5, 24, 512, 0)
    pre = pre_tokenize(batch)
    whole = count_substrings(pre.words, pre.counts)
    size = len(batch) // hosts
    slices = []
    for h in range(hosts):
        part = pre_tokenize(batch[h * size : (h + 1) * size])
        stats = count_substrings(part.words, part.counts)
        slices.append(stats_from_bytes(stats_to_bytes(stats)))  # as the hosts exchange them
    merged = merge_stats(slices)
    np.testing.assert_array_equal(merged.keys, whole.keys)
    np.testing.assert_array_equal(merged.scores, whole.scores)
    assert merged.total == whole.total
    rows = np.arange(len(whole))
    assert merged.strings(rows) == whole.strings(rows)
    # merging in two levels (each host its own parts first) is the same merge
    assert merge_stats([merge_stats(slices[:2]), *slices[2:]]).strings(rows) == whole.strings(rows)


def test_a_colliding_key_keeps_the_shortest_then_earliest_string():
    """Hand-built: key 7 holds "abc" (part 0) and "xy" (part 1), key 9 "pq" in both parts; counting
    the whole batch emits shorter substrings first and keeps the first of equal keys."""

    def stats(keys, lengths, starts, text):
        n = len(keys)
        return SubstringStats(
            np.asarray(keys, np.uint64),
            np.full(n, 2, np.int64),
            np.asarray(lengths, np.uint8),
            np.asarray(starts, np.int64),
            text,
            10,
        )

    part0 = stats([7, 9], [3, 2], [0, 3], "abcpq")
    part1 = stats([7, 9], [2, 2], [0, 2], "xypq")
    merged = merge_stats([part0, part1])
    assert merged.keys.tolist() == [7, 9] and merged.scores.tolist() == [4, 4]
    assert merged.strings([0, 1]) == ["xy", "pq"] and merged.total == 20
    assert merged.starts.tolist() == [5, 3]  # "xy" at the start of part 1's text, after "abcpq"


def _same(a, b):
    assert a.step == b.step and a.vocab_size == b.vocab_size and a.sigma == b.sigma
    for name in (*STEP_FIELDS, "vocab_ids", "lang_ids"):
        np.testing.assert_array_equal(
            getattr(a, name), getattr(b, name), err_msg=f"step {a.step}: {name}"
        )


class _Allgather:
    """An in-process stand-in for `allgather_bytes` between host threads."""

    def __init__(self, hosts: int):
        self.barrier = threading.Barrier(hosts, timeout=600)
        self.slots: list[bytes | None] = [None] * hosts
        self.calls = [0] * hosts

    def for_host(self, host: int):
        def exchange(payload: bytes) -> list[bytes]:
            self.calls[host] += 1
            self.slots[host] = payload
            self.barrier.wait()
            out = list(self.slots)
            self.barrier.wait()  # nobody overwrites a slot before everyone has read them all
            return out

        return exchange


def test_two_hosts_with_collator_workers_match_one_process(texts):
    tokenizer = "smollm2"
    start, n = 2, 4  # resume mid-stream: the window is rebuilt from past batches
    single = BatchStream(
        CollatorConfig(**{**CONFIG.__dict__, "num_workers": 0, "n_streams": 2}),
        texts,
        tokenizer,
        PipelineState(start),
        DataParts(2, (0, 1)),
    )
    expected = [next(single) for _ in range(n)]
    workers = CollatorConfig(**{**CONFIG.__dict__, "num_workers": 2, "n_streams": 2, "prefetch": 1})
    gather = _Allgather(2)
    got: dict[int, list] = {}
    errors: list[BaseException] = []

    def host(h: int) -> None:
        try:
            with BatchStream(
                workers,
                texts,
                tokenizer,
                PipelineState(start),
                DataParts(2, (h,)),
                gather.for_host(h),
            ) as stream:
                got[h] = [next(stream) for _ in range(n)]
        except BaseException as e:  # surfaced by the test thread
            errors.append(e)
            gather.barrier.abort()

    threads = [threading.Thread(target=host, args=(h,)) for h in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not errors, errors
    for step in range(n):
        for h in range(2):
            (batch,) = got[h][step]
            _same(batch, expected[step][h])
    # one exchange per step taken, plus the `prefetch` steps exchanged ahead
    assert gather.calls == [n + workers.prefetch] * 2
