"""The collator: remapped ids, labels, the vocabulary subset and the surface forms agree with each
other."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import zett.hypernet  # noqa: F401  (registers the batch as a JAX pytree)
from zett.sampling import IGNORE, Collator, CollatorConfig, SamplerConfig, batch_texts
from zett.sampling.batch import STEP_FIELDS
from zett.sampling.surface_cache import SurfaceCache
from zett.tokenization import from_canonical

CONFIG = CollatorConfig(
    batch_size=16, block_size=64, n_subsample=4096, sampler=SamplerConfig(window=2)
)


@pytest.fixture(scope="module")
def clm(minilm):
    return Collator(CONFIG, minilm)


def _run(collator, bible, steps=2, short=True):
    """Two consecutive batches; the second mixes in a few short texts that fit the block whole."""
    for step in range(steps):
        texts, langs = batch_texts(bible, step, CONFIG.batch_size, CONFIG.max_chars, seed=0)
        if short and step == steps - 1:
            texts[:3] = ["In the beginning.", "Am Anfang schuf Gott 🌍.", "起初，神创造天地。"]
        batch = collator(texts, np.random.default_rng(step), lang_ids=langs, step=step)
    return texts, langs, batch, collator.last_vocab


def _reference_ids(collator, vocab, texts):
    """What the saved tokenizer gives, truncated like the batch (its template's specials kept)."""
    tok = collator.tokenizer(vocab)
    tok.enable_truncation(CONFIG.block_size)
    return [e.ids for e in tok.encode_batch(texts)]


def test_ids_match_the_sampled_tokenizer(clm, bible):
    texts, langs, batch, vocab = _run(clm, bible)
    ref = _reference_ids(clm, vocab, texts)
    for i, want in enumerate(ref):
        n = int(batch.attention_mask[i].sum())
        assert batch.attention_mask[i, :n].all() and not batch.attention_mask[i, n:].any()
        assert batch.vocab_ids[batch.input_ids[i, :n]].tolist() == want, i
    np.testing.assert_array_equal(batch.lang_ids, langs)
    # causal labels: every real token, in subset ids; -1 on padding
    np.testing.assert_array_equal(
        batch.labels, np.where(batch.attention_mask == 1, batch.input_ids, IGNORE)
    )
    # bytes covered: whole texts where they fit
    for i in range(3):
        assert batch.n_bytes[i] == len(texts[i].encode("utf-8"))


def test_subset_and_surface_forms_are_consistent(clm, bible, minilm):
    _, _, batch, vocab = _run(clm, bible)
    k = CONFIG.n_subsample
    rows = batch.vocab_ids[batch.vocab_mask]
    assert batch.vocab_ids.shape == (k,) and batch.surface_ids.shape == (k, CONFIG.surface_maxlen)
    assert len(np.unique(rows)) == len(rows) == k  # 30k-token vocabulary: k real rows
    used = np.union1d(batch.input_ids[batch.attention_mask == 1], batch.labels[batch.labels >= 0])
    assert batch.vocab_mask[used].all() and len(used) <= batch.n_in_batch
    assert set(vocab.special_ids.tolist()) <= set(rows.tolist())
    src = clm.source_vocab
    n_checked = 0
    for r in np.flatnonzero(batch.vocab_mask):
        tid = int(batch.vocab_ids[r])
        pieces = clm.decomposer.pieces(batch.surface_ids[r, : batch.surface_lengths[r]].tolist())
        if tid in vocab.special_ids:
            assert (
                batch.special_source_ids[r] == src.id_of(vocab.pieces[tid])
                or src.tokens[batch.special_source_ids[r]] == ""
            )
            assert (
                batch.surface_lengths[r] == 1 and batch.source_ids[r] == batch.special_source_ids[r]
            )
            continue
        assert batch.special_source_ids[r] == -1
        want = from_canonical(vocab.pieces[tid])
        if batch.surface_lengths[r] < CONFIG.surface_maxlen:
            assert b"".join(pieces) == want, (tid, vocab.pieces[tid])
            n_checked += 1
        else:
            assert want.startswith(b"".join(pieces))
        if batch.source_ids[r] >= 0:
            assert src.bytes_of(int(batch.source_ids[r])) == want
    assert n_checked > k // 2
    assert not batch.surface_lengths[~batch.vocab_mask].any()


def test_the_step_sees_only_the_step_fields(clm, bible):
    _, _, batch, _ = _run(clm, bible, steps=1, short=False)
    assert batch.input_ids.shape == (CONFIG.batch_size, CONFIG.block_size)
    leaves, _ = jax.tree_util.tree_flatten_with_path(batch)  # registered by zett.hypernet
    assert tuple(path[-1].name for path, _ in leaves) == STEP_FIELDS
    assert batch.lang_ids is not None and batch.vocab_ids is not None  # the host keeps them


def test_mlm_masking(minilm, bible):
    config = CollatorConfig(**{**CONFIG.__dict__, "objective": "mlm", "batch_size": 32})
    collator = Collator(config, minilm)
    texts, _ = batch_texts(bible, 0, config.batch_size, config.max_chars, seed=0)
    batch = collator(texts, np.random.default_rng(0))
    vocab = collator.last_vocab
    ref = _reference_ids(collator, vocab, texts)
    original = np.full_like(batch.input_ids, -1)
    for i, want in enumerate(ref):
        original[i, : len(want)] = want
    got_in = batch.vocab_ids[batch.input_ids]
    masked = batch.labels >= 0
    special = np.isin(original, vocab.special_ids)
    assert not (masked & special).any()
    np.testing.assert_array_equal(batch.vocab_ids[batch.labels[masked]], original[masked])
    keep = (batch.attention_mask == 1) & ~masked
    np.testing.assert_array_equal(got_in[keep], original[keep])
    rate = masked.sum() / ((batch.attention_mask == 1) & ~special).sum()
    assert 0.12 < rate < 0.18
    mask_id = vocab.canonical.special("mask").id
    share = (got_in[masked] == mask_id).mean()
    assert 0.72 < share < 0.88


def test_same_seed_same_batch(minilm, bible):
    texts, _ = batch_texts(bible, 0, 8, 2048, seed=0)
    small = CollatorConfig(**{**CONFIG.__dict__, "batch_size": 8})
    a = Collator(small, minilm)(texts, np.random.default_rng(5))
    b = Collator(small, minilm)(texts, np.random.default_rng(5))
    for name in (*STEP_FIELDS, "lang_ids", "vocab_ids", "vocab_scores"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_subset_too_small_is_a_clear_error(minilm, bible):
    texts, _ = batch_texts(bible, 0, 16, 2048, seed=0)
    tiny = CollatorConfig(**{**CONFIG.__dict__, "n_subsample": 64})
    with pytest.raises(ValueError, match="n_subsample"):
        Collator(tiny, minilm)(texts, np.random.default_rng(0))


def test_surface_cache_equals_decomposer(clm, bible):
    _, _, _, vocab = _run(clm, bible, steps=1, short=False)
    pieces = [p for i, p in enumerate(vocab.pieces) if i not in set(vocab.special_ids.tolist())]
    cache = SurfaceCache(clm.decomposer, capacity=20000)
    want = clm.decomposer(pieces)
    # misses; hits + misses up to capacity; a reset; hits after it
    for part in (pieces[:5000], pieces[3000:20000], pieces[15000:], pieces[15000:15010][::-1]):
        ids, lengths, n_trunc = cache(part)
        ref = clm.decomposer(part)
        np.testing.assert_array_equal(ids, ref.ids)
        np.testing.assert_array_equal(lengths, ref.lengths)
        assert n_trunc == ref.n_truncated
        own = cache.lookup(part)[3]
        assert own.tolist() == [-1 if (j := clm.source_vocab.id_of(p)) is None else j for p in part]
        assert len(part) < 100 or ((own >= 0).any() and (own < 0).any())  # both kinds really occur
    assert (
        cache.hits == 2000 + 10 + 5000 + 17000 + len(pieces) - 15000 + 10
        and want.n_truncated > 0
        and len(cache._row) == len(pieces) - 15000
    )
