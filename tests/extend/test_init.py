"""Initialisers for new rows: statistics match what each method promises."""

from __future__ import annotations

import numpy as np
import pytest

from zett.extend.init import HYPERNET_MESSAGE, InitSpec, init_rows, row_covariance, row_stats


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    """[4000, 16] rows with distinct per-dimension means/stds and correlated dimensions."""
    rng = np.random.default_rng(1)
    mix = rng.standard_normal((16, 16)) * 0.3 + np.eye(16)
    return (rng.standard_normal((4000, 16)) @ mix * np.linspace(0.5, 2, 16) + np.arange(16)).astype(
        np.float32
    )


def test_average_is_mean_plus_small_noise(table):
    rows = init_rows(table, 50, InitSpec("average", noise=0.01))
    mean, std = row_stats(table)
    assert rows.dtype == np.float32 and rows.shape == (50, 16)
    dev = (rows - mean) / std
    assert np.abs(dev).max() < 0.06 and dev.std() > 0.005  # noisy, but only slightly
    exact = init_rows(table, 3, InitSpec("average", noise=0.0))
    np.testing.assert_allclose(
        exact, np.broadcast_to(table.astype(np.float64).mean(0), (3, 16)), rtol=1e-6
    )


def test_special_tokens_mean(table):
    rows = init_rows(table, 2, InitSpec("special_tokens", noise=0.0, special_ids=(3, 7)))
    np.testing.assert_allclose(rows[0], (table[3].astype(np.float64) + table[7]) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="special token id 4000"):
        init_rows(table, 2, InitSpec("special_tokens", special_ids=(4000,)))
    with pytest.raises(ValueError, match="needs the ids"):
        init_rows(table, 2, InitSpec("special_tokens"))


def test_random_matches_per_dimension_distribution(table):
    rows = init_rows(table, 20000, InitSpec("random", seed=3))
    mean, std = row_stats(table)
    np.testing.assert_allclose(rows.mean(0), mean, atol=0.05 * std.max())
    np.testing.assert_allclose(rows.std(0), std, rtol=0.05)
    # per-dimension independent: the correlation of the old rows is not reproduced
    assert abs(np.corrcoef(rows[:, 0], rows[:, 1])[0, 1]) < 0.05


def test_mvn_matches_mean_and_covariance(table):
    rows = init_rows(table, 20000, InitSpec("mvn", seed=4))
    mean, _ = row_stats(table)
    cov = row_covariance(table, mean)
    np.testing.assert_allclose(rows.mean(0), mean, atol=0.1)
    np.testing.assert_allclose(
        np.cov(rows.T.astype(np.float64)), cov, atol=0.08 * np.abs(cov).max()
    )


def test_fvt_means_decomposition_rows(table):
    spec = InitSpec("fvt", decompositions=((1, 2, 3), (), (10,)), noise=0.0)
    rows = init_rows(table, 3, spec)
    np.testing.assert_allclose(rows[0], table[[1, 2, 3]].astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(
        rows[1], table.astype(np.float64).mean(0), rtol=1e-5
    )  # no text → mean
    np.testing.assert_array_equal(rows[2], table[10])
    with pytest.raises(ValueError, match="one decomposition per new token"):
        init_rows(table, 2, spec)
    with pytest.raises(ValueError, match="outside the table"):
        init_rows(table, 1, InitSpec("fvt", decompositions=((4000,),)))
    with pytest.raises(ValueError, match=r"new token 2 has id outside .*\(5, -1\)"):
        init_rows(table, 3, InitSpec("fvt", decompositions=((1,), (), (5, -1))))


def test_hypernet_without_predictions_asks_for_the_hypernetwork(table):
    with pytest.raises(ValueError, match="hypernetwork .*--hypernet DIR"):
        init_rows(table, 1, InitSpec("hypernet"))
    assert "experiments/smollm2/hypernet" in HYPERNET_MESSAGE  # points to the shipped one


def test_seeded_and_dtype_preserving(table):
    a = init_rows(table.astype(np.float16), 5, InitSpec("random", seed=9))
    b = init_rows(table.astype(np.float16), 5, InitSpec("random", seed=9))
    assert a.dtype == np.float16 and np.array_equal(a, b)
    with pytest.raises(ValueError, match="unknown init method"):
        InitSpec("zeros")


def test_decompose_texts_uses_the_full_original_pipeline():
    import zett.assets
    from zett.extend.init import decompose_texts
    from zett.extend.tokenizer import load_tokenizer

    tok = load_tokenizer(
        zett.assets.minilm_dir()
    )  # its tokenizer.json pads to 128: must not leak in
    decs = decompose_texts(["tokenizerology", None, "Hello"], tok)
    assert decs[0] == tuple(tok.encode(" tokenizerology", add_special_tokens=False).ids[:3])
    assert len(decs[0]) == 3 and decs[1] == () and decs[2] == (tok.token_to_id("hello"),)
