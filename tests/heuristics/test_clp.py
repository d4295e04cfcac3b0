"""CLP-Transfer: cosine-proportional weights over every shared token, summing to 1."""

import numpy as np
import pytest

from zett.heuristics.base import SourceEmbeddings
from zett.heuristics.clp import clp_init
from zett.heuristics.donor import Donor
from zett.tokenization import CanonicalVocab
from zett.tokenization import to_canonical as canon


def vocab(*words: str) -> CanonicalVocab:
    return CanonicalVocab.from_tokens([canon(w.encode()) for w in words])


def cosine_weights(new: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """The paper's weights [n_new, n_shared] by the textbook formula: cos(new, shared) / Σ cos."""
    cos = np.array([[a @ b / np.linalg.norm(a) / np.linalg.norm(b) for b in shared] for a in new])
    return cos / cos.sum(1, keepdims=True)


def test_weights_sum_to_one_and_follow_the_cosines():
    rng = np.random.default_rng(0)
    shared = [f" s{i}" for i in range(50)]
    # one-hot base rows: each new token's row is its weight vector
    base = SourceEmbeddings(vocab(*shared), np.eye(50, dtype=np.float32))
    target = vocab(*[f" t{i}" for i in range(20)], *shared)
    d = rng.normal(size=(70, 8)) + 1.0  # a common direction: cosines sum to > 0
    out = clp_init(base, target, donor=Donor(target, d.astype(np.float32)))
    w = out.input_embeddings[:20]
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(w, cosine_weights(d[:20], d[20:]), rtol=1e-4, atol=1e-6)
    assert out.info["n_uniform"] == 0


def test_hand_built_case():
    """Donor space 2-d: shared tokens at (1, 0), (0, 2), (3, 3); base rows 1-d: 10, 20, 40.
    New token "n1" at (2, 0): cosines 1, 0, √½ → weights 1/(1+√½), 0, √½/(1+√½).
    New token "n2" at (-1, 0): cosines -1, 0, -√½ sum to < 0 → plain mean of the base rows."""
    base = SourceEmbeddings(vocab(" a", " b", " c"), np.array([[10.0], [20.0], [40.0]], np.float32))
    target = vocab(" n1", " a", " b", " c", " n2")
    donor = Donor(target, np.array([[2, 0], [1, 0], [0, 2], [3, 3], [-1, 0]], np.float32))
    out = clp_init(base, target, donor=donor)
    r = np.sqrt(0.5)
    assert out.input_embeddings[0, 0] == pytest.approx((10 + r * 40) / (1 + r), rel=1e-6)
    assert out.input_embeddings[4, 0] == pytest.approx(70 / 3, rel=1e-6)
    np.testing.assert_array_equal(out.input_embeddings[1:4, 0], [10, 20, 40])
    assert out.info["n_uniform"] == 1 and out.info["n_anchors"] == 3


def test_untied_head_uses_the_donor_head_and_blocks_are_invisible():
    rng = np.random.default_rng(1)
    shared = [f" s{i}" for i in range(30)]
    base = SourceEmbeddings(vocab(*shared), *rng.normal(size=(2, 30, 6)).astype(np.float32) + 0.5)
    target = vocab(*[f" t{i}" for i in range(17)], *shared)
    d_in, d_out = rng.normal(size=(2, 47, 5)).astype(np.float32) + 2.0
    donor = Donor(target, d_in, d_out)
    out = clp_init(base, target, donor=donor, block=4)
    for table, d_table, b_table in (
        (out.input_embeddings, d_in, base.input_embeddings),
        (out.output_embeddings, d_out, base.output_embeddings),
    ):
        w = cosine_weights(d_table[:17].astype(np.float64), d_table[17:].astype(np.float64))
        np.testing.assert_allclose(table[:17], w @ b_table, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out.output_embeddings[17:], base.output_embeddings)
