"""The batch stream: seeded, resumable from its state, and the same in background worker processes."""

from __future__ import annotations

import numpy as np
import pytest

from zett.sampling import BatchStream, CollatorConfig, InMemoryTexts, PipelineState, SamplerConfig
from zett.sampling.batch import STEP_FIELDS

BASE = dict(
    batch_size=6, block_size=32, n_subsample=1024, sampler=SamplerConfig(window=3, vocab_size=4096)
)


@pytest.fixture(scope="module")
def texts(bible):
    docs = [bible[i] for i in range(0, len(bible), max(1, len(bible) // 60))]
    return InMemoryTexts(
        tuple(t for t, _ in docs), tuple(lang for _, lang in docs), bible.languages
    )


def _take(stream, n):
    return [next(stream) for _ in range(n)]


def _same(a, b):
    assert a.step == b.step and a.vocab_size == b.vocab_size and a.sigma == b.sigma
    for name in (*STEP_FIELDS, "lang_ids", "vocab_scores"):
        np.testing.assert_array_equal(
            getattr(a, name), getattr(b, name), err_msg=f"step {a.step}: {name}"
        )
    np.testing.assert_array_equal(a.vocab_ids, b.vocab_ids)


def test_resume_gives_the_same_batches(texts, minilm):
    config = CollatorConfig(**BASE, num_workers=0)
    full = _take(BatchStream(config, texts, minilm), 6)
    stream = BatchStream(config, texts, minilm)
    _take(stream, 4)
    state = PipelineState.from_dict(stream.state().to_dict())
    assert state.step == 4
    resumed = _take(BatchStream(config, texts, minilm, state), 2)
    for a, b in zip(full[4:], resumed):
        _same(a, b)
    assert full[0].vocab_size == 4096 and len({b.sigma for b in full}) == 6
    assert not np.array_equal(full[0].vocab_ids, full[1].vocab_ids)
    assert set(full[0].lang_ids.tolist()) <= set(range(len(texts.languages)))


def test_worker_processes_give_the_same_batches(texts, minilm):
    inline = CollatorConfig(**BASE, n_streams=2, num_workers=0)
    expected = _take(BatchStream(inline, texts, minilm, PipelineState(3)), 4)
    workers = CollatorConfig(**BASE, n_streams=2, num_workers=2, prefetch=1)
    with BatchStream(workers, texts, minilm, PipelineState(3)) as stream:
        got = _take(stream, 4)
    for a, b in zip(expected, got):
        _same(a, b)


def test_worker_errors_surface(texts, minilm):
    bad = CollatorConfig(**{**BASE, "n_subsample": 8}, num_workers=1)
    with BatchStream(bad, texts, minilm) as stream:
        with pytest.raises(RuntimeError, match="n_subsample"):
            next(stream)
