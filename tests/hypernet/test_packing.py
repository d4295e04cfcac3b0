"""The packed surface layout (length bucketing): hand-built row counts and layouts, and the same
embeddings, loss and gradients as the padded layout up to float reassociation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from zett.hypernet.config import HypernetConfig
from zett.hypernet.losses import predicted_tables
from zett.hypernet.model import Hypernet
from zett.hypernet.packing import pack_surfaces
from zett.hypernet.predict import chunk_plan, predict_surface
from zett.hypernet.step import _loss
from zett.models import decoder
from zett.sampling import Batch
from zett.sampling.packing import ROW_QUANTUM, pack_rows, rows_needed

# float32 reassociation only (other matmul shapes, softmax over more masked keys, gradient sums over
# the positions in another order): elementwise rtol, plus an absolute slack relative to the array's
# largest entry, for gradient entries that are small differences of large sums (measured: 2.6e-7)
RTOL, SCALE_ATOL = 1e-5, 1e-6


def assert_close(got, ref):
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=SCALE_ATOL * max(np.abs(ref).max(), 1e-3))


SRC_VOCAB, MAXLEN, WIDTH = 128, 15, 30


def test_rows_needed_hand_built():
    # width 14: per row 14 of length 1, 7 of length 2, 4 of length 3 (2 slots left), 2 of length 7;
    # length 0 (a padding row) counts as length 1
    lengths = np.array([1, 0, 3, 7, 7, 7, 2] + [3] * 4)
    assert rows_needed(lengths, 7, 14) == 1 + 1 + 2 + 2  # L1: 2 tokens, L2: 1, L3: 5, L7: 3
    assert pack_rows(lengths, 7, 14) == ROW_QUANTUM
    with pytest.raises(ValueError, match="surface_pack_width 5 is below surface_maxlen 7"):
        rows_needed(lengths, 7, 5)


def test_pack_surfaces_places_every_piece_once():
    lengths = np.array([2, 1, 3, 3, 0, 2, 3], np.int32)
    ids = np.arange(1, 7 * 3 + 1, dtype=np.int32).reshape(7, 3)  # distinct ids
    rows = rows_needed(lengths, 3, 6)  # L1: 2 tokens → 1 row; L2: 2 → 1; L3: 3 → 2 (2 per row)
    assert rows == 4
    p = jax.tree.map(np.asarray, pack_surfaces(ids, lengths, rows, 6))
    # by hand: row 0 = the two length-1 tokens (1, 4), row 1 = the length-2 ones (0, 5), rows 2-3
    # = the length-3 ones two per row (2, 3 | 6)
    expected_segment = [
        [1, 4, -1, -1, -1, -1],
        [0, 0, 5, 5, -1, -1],
        [2, 2, 2, 3, 3, 3],
        [6, 6, 6, -1, -1, -1],
    ]
    np.testing.assert_array_equal(p.segment, expected_segment)
    np.testing.assert_array_equal(p.first, [6, 0, 12, 15, 1, 8, 18])
    for t, n in enumerate(np.maximum(lengths, 1)):
        flat = p.first[t] + np.arange(n)
        np.testing.assert_array_equal(p.ids.reshape(-1)[flat], ids[t, :n])
        np.testing.assert_array_equal(p.position.reshape(-1)[flat], np.arange(n))


def _hypernet(tied: bool = True, maxlen: int = MAXLEN):
    cfg = decoder.tiny_config(vocab_size=SRC_VOCAB, tie_word_embeddings=tied)
    base = decoder.MODEL_CLASS(cfg, rngs=nnx.Rngs(0))
    hcfg = HypernetConfig(
        hidden_size=64,
        intermediate_size=128,
        num_layers=2,
        surface_maxlen=maxlen,
        predict_output_embeddings=not tied,
        n_fallback=8,
    )
    src_out = None if tied else np.asarray(base.get_output_embeddings())
    return base, Hypernet(hcfg, np.asarray(base.get_input_embeddings()), src_out, rngs=nnx.Rngs(1))


def _batch(k: int = 40, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    # mostly short forms with a long tail, fallback ids (≥ source vocab) and padding rows
    lengths = np.minimum(rng.geometric(0.3, size=k), MAXLEN).astype(np.int32)
    lengths[-3:] = 0
    surface = rng.integers(0, SRC_VOCAB + 8, size=(k, MAXLEN)).astype(np.int32)
    surface[np.arange(MAXLEN)[None, :] >= lengths[:, None]] = 0
    special = np.full((k,), -1, np.int32)
    special[0] = 0
    source_ids = np.where(lengths == 1, surface[:, 0], -1).astype(np.int32)
    ids = rng.integers(1, k - 3, size=(3, 12)).astype(np.int32)
    labels = ids.copy()
    return Batch(
        ids,
        np.ones_like(ids),
        labels,
        surface,
        lengths,
        special,
        np.where(source_ids < SRC_VOCAB, source_ids, -1).astype(np.int32),
        np.arange(k) < k - 3,
        np.full((3,), 30, np.int32),
    )


@pytest.mark.parametrize("tied", [True, False])
def test_packed_loss_and_gradients_match_padded(tied):
    base, hn = _hypernet(tied)
    batch = _batch()
    packed = replace(
        batch, pack_rows=rows_needed(batch.surface_lengths, MAXLEN, WIDTH), pack_width=WIDTH
    )
    assert packed.pack_rows * WIDTH < 0.6 * batch.surface_ids.size  # it does save positions

    @nnx.jit
    def loss_and_grads(hn, base, b):
        grad_fn = nnx.value_and_grad(_loss, argnums=nnx.DiffState(0, nnx.Param), has_aux=True)
        (loss, metrics), grads = grad_fn(hn, base, b, 0.5, False)
        tables = predicted_tables(hn, b)
        return loss, metrics, grads, tables

    ref = jax.tree.map(np.asarray, loss_and_grads(hn, base, batch))
    got = jax.tree.map(np.asarray, loss_and_grads(hn, base, packed))
    flat_ref, flat_got = jax.tree.leaves(ref), jax.tree.leaves(got)
    assert len(flat_ref) == len(flat_got)
    for r, g in zip(flat_ref, flat_got):
        assert_close(g, r)
    assert float(ref[0]) > 0 and np.abs(np.asarray(ref[2].in_proj.kernel[...])).sum() > 0


def test_predict_surface_packed_matches_padded():
    _, hn = _hypernet(tied=False)
    b = _batch(k=100, seed=1)
    lengths = np.maximum(b.surface_lengths, 1)
    padded = predict_surface(hn, b.surface_ids, lengths, chunk=32, progress=False, pack_width=0)
    packed = predict_surface(hn, b.surface_ids, lengths, chunk=32, progress=False)
    for r, g in zip(padded, packed):
        if r is None:
            assert g is None
        else:
            assert r.shape == (100, hn.embed_dim)
            assert_close(g, r)


@pytest.mark.slow  # a tiny `zett train` run: ~100 s on the shared 2-core machine
def test_packed_training_tracks_the_recorded_first_steps(tmp_path, corpus):
    """`zett train tiny` with the packed layout reproduces the padded layout's recorded first steps
    (tests/hypernet/first_steps.json) up to reassociation: identity steps (one position) exactly,
    text steps within a fixed relative tolerance after five Adam updates."""
    from zett.cli.main import main

    work = tmp_path / "packed"
    overrides = [
        "optim.identity_steps=3",
        "optim.identity_warmup_steps=2",
        "optim.warmup_steps=2",
        "optim.total_steps=8",
        "log_every=1",
        "save_every=100",
        "tensorboard=false",
        "collator.surface_pack_width=16",  # tiny: surface_maxlen 4
        # the fixture was recorded under v1, which trained its rescalers (test_first_steps.py too)
        "hypernet.train_rescalers=true",
    ]
    assert main(["train", "tiny", f"workdir={work}", f"data.train={corpus}", *overrides]) == 0
    rows = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    got = {str(r["step"]): r for r in rows}
    expected = json.loads((Path(__file__).with_name("first_steps.json")).read_text())["clm"]
    assert sorted(got, key=int) == sorted(expected, key=int)
    for step, row in expected.items():
        for key, value in row.items():
            if isinstance(value, str) or row["phase"] == "identity":
                assert got[step][key] == value, (step, key)
            else:
                assert got[step][key] == pytest.approx(value, rel=1e-4, abs=1e-7), (step, key)


def test_chunk_plan_groups_forms_by_length():
    # 256 forms of 7 pieces interleaved with 256 of 1, calls of 256 tokens, rows of 28 positions:
    # shortest first, the first call holds the 1-piece forms (28 per row: 10 rows → 16, the row
    # quantum) and the second the 7-piece ones (4 per row: 64 rows), not 48 rows for each call
    lengths = np.tile([7, 1], 256)
    plan = chunk_plan(lengths, chunk=256, maxlen=7, width=28)
    assert [rows for _, rows in plan] == [16, 64]
    assert (lengths[plan[0][0]] == 1).all() and (lengths[plan[1][0]] == 7).all()
    assert sorted(np.concatenate([part for part, _ in plan]).tolist()) == list(range(512))
    # the padded layout keeps the order and computes no rows
    padded = chunk_plan(lengths, chunk=200, maxlen=7, width=0)
    assert [part.tolist() for part, _ in padded] == [list(range(0, 200)), list(range(200, 400)),
                                                     list(range(400, 512))]  # fmt: skip
    assert {rows for _, rows in padded} == {0}
