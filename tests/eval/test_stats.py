"""Paired bootstrap intervals: zero for identical methods, exact for a constant per-byte shift, and
the percentile interval of the resampled statistic computed by a plain loop."""

import numpy as np
import pytest

from zett.eval.stats import bootstrap_indices, paired_difference

RNG = np.random.default_rng(1)
BYTES = RNG.integers(500, 3000, size=40).astype(float)
REF = BYTES * RNG.uniform(1.5, 2.5, size=40)


def test_identical_methods_differ_by_exactly_zero():
    iv = paired_difference(REF, REF, BYTES, bootstrap_indices(40, 500))
    assert (iv.diff, iv.low, iv.high) == (0.0, 0.0, 0.0) and iv.includes_zero


def test_a_constant_shift_per_byte_is_recovered_exactly():
    iv = paired_difference(REF - 0.25 * BYTES, REF, BYTES, bootstrap_indices(40, 500))
    assert iv.diff == pytest.approx(-0.25) and iv.low == pytest.approx(-0.25)
    assert iv.high == pytest.approx(-0.25) and not iv.includes_zero


def test_interval_is_the_percentile_interval_of_resampled_differences():
    bits = REF + RNG.normal(0, 40, size=40)
    idx = bootstrap_indices(40, 300, seed=7)
    stats = []
    for row in idx:  # Σ bits / Σ bytes of each method on the same resample, then the difference
        b = sum(BYTES[i] for i in row)
        stats.append(sum(bits[i] for i in row) / b - sum(REF[i] for i in row) / b)
    iv = paired_difference(bits, REF, BYTES, idx)
    assert iv.diff == pytest.approx(bits.sum() / BYTES.sum() - REF.sum() / BYTES.sum())
    assert (iv.low, iv.high) == pytest.approx(tuple(np.percentile(stats, [2.5, 97.5])))
    assert iv.low < iv.diff < iv.high


def test_unpaired_inputs_are_an_error():
    with pytest.raises(ValueError, match="same documents"):
        paired_difference(REF[:5], REF, BYTES, bootstrap_indices(40))
