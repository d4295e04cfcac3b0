"""Identity reconstruction statistics against hand-computed cases."""

import numpy as np
import pytest

from zett.eval import reconstruction_stats


def test_identical_scaled_and_orthogonal_rows():
    source = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    predicted = np.array([[3.0, 4.0], [2.0, 0.0], [2.0, 0.0], [-1.0, -1.0]])
    # cosines 1, 1, 0, -1; relative errors 0, 1, √8/2, √8/√2 = 2
    stats = reconstruction_stats(predicted, source)
    assert stats["n"] == 4
    assert stats["cosine_mean"] == pytest.approx(0.25)
    assert stats["cosine_p05"] == pytest.approx(np.percentile([1, 1, 0, -1], 5))
    rel = [0.0, 1.0, np.sqrt(2.0), 2.0]
    assert stats["rel_error_mean"] == pytest.approx(np.mean(rel))
    assert stats["rel_error_median"] == pytest.approx((1.0 + np.sqrt(2.0)) / 2)


def test_shape_mismatch_and_empty():
    with pytest.raises(ValueError, match="differ"):
        reconstruction_stats(np.zeros((3, 2)), np.zeros((3, 4)))
    assert reconstruction_stats(np.zeros((0, 2)), np.zeros((0, 2))) == {"n": 0}
