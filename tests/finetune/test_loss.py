"""The chunked output-layer cross-entropy equals a numpy log-softmax over the model's own logits."""

import jax.numpy as jnp
import numpy as np
import pytest

from zett.finetune.batches import LMBatch
from zett.finetune.loss import default_chunk, lm_loss
from zett.models import build_model
from zett.models.decoder import tiny_config


def _reference(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    logits = logits.astype(np.float64)
    m = logits.max(-1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    mask = labels >= 0
    picked = np.take_along_axis(logp, np.maximum(labels, 0)[..., None], -1)[..., 0]
    return float(-(picked * mask).sum()), float(mask.sum())


@pytest.mark.parametrize("chunk", [0, 5, 7, 64, 1000, None])
@pytest.mark.parametrize("tied", [True, False])
def test_chunked_nll_matches_numpy(chunk, tied):
    model = build_model(tiny_config(tie_word_embeddings=tied), seed=3)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 256, (3, 10)).astype(np.int32)
    labels = ids.copy()
    labels[1, 4:] = -1  # no loss there
    batch = LMBatch(jnp.asarray(ids), jnp.ones_like(jnp.asarray(ids)), jnp.asarray(labels),
                    jnp.ones(3, jnp.int32))  # fmt: skip
    logits = np.asarray(model(jnp.asarray(ids)).logits)
    nll, count = _reference(logits[:, :-1], labels[:, 1:])
    loss, aux = lm_loss(model, batch, causal=True, chunk=chunk)
    assert float(aux["n_targets"]) == count == 3 * 9 - 6
    np.testing.assert_allclose(float(aux["nll_nats"]), nll, rtol=1e-5)
    np.testing.assert_allclose(float(loss), nll / count, rtol=1e-5)
    # masked LM: no shift, loss only where labelled
    mlm_nll, mlm_count = _reference(logits, labels)
    _, mlm = lm_loss(model, batch, causal=False, chunk=chunk)
    np.testing.assert_allclose(float(mlm["nll_nats"]), mlm_nll, rtol=1e-5)
    assert float(mlm["n_targets"]) == mlm_count


def test_default_chunk_holds_256_mib_of_logits():
    # 256 MiB / (4 bytes × vocab): SmolLM2's 49,152 rows → 1,365 positions, Gemma-3's 262,144 → 256
    assert default_chunk(49_152) == 1365
    assert default_chunk(262_144) == 256
    assert default_chunk(300_000_000) == 1  # never 0 (0 means "all at once")
