"""The bench probe: deterministic for the same seed and data (every method gets the same batches),
leaves the model as it was, trains only the tables when embeddings-only."""

import numpy as np
import pytest
from flax import nnx
from tokenizers import Tokenizer

from zett.finetune.probe import ProbeConfig, probe
from zett.heuristics import TargetEmbeddings
from zett.models import load_pretrained

CFG = ProbeConfig(steps=3, batch_size=2, block_size=16)


def _tables(seed: int, rows: int = 400, dim: int = 32) -> TargetEmbeddings:
    rng = np.random.default_rng(seed)
    e = lambda: (0.02 * rng.standard_normal((rows, dim))).astype(np.float32)  # noqa: E731
    return TargetEmbeddings(input_embeddings=e(), output_embeddings=e())


def _params(model) -> dict:
    return {k: np.asarray(v.get_value()) for k, v in nnx.state(model, nnx.Param).flat_state()}


@pytest.fixture(scope="module")
def model(tiny_untied):
    return load_pretrained(tiny_untied)


def test_probe_is_deterministic_and_leaves_the_model(model, unigram, texts):
    before = _params(model)
    a = probe(model, str(unigram), _tables(0), texts, CFG)
    b = probe(model, str(unigram), _tables(0), texts, CFG)
    other = probe(model, str(unigram), _tables(1), texts, CFG)
    for name, value in _params(model).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    for x, y in [(a.input_embeddings, b.input_embeddings), (a.output_embeddings, b.output_embeddings),
                 (a.losses, b.losses)]:  # fmt: skip
        np.testing.assert_array_equal(x, y)
    assert a.losses.shape == (3,) and np.isfinite(a.losses).all()
    assert a.data == other.data  # another method, the same batches
    assert not np.array_equal(a.losses, other.losses)
    assert not np.array_equal(a.input_embeddings, _tables(0).input_embeddings)
    assert a.tokens == 3 * 2 * 16


def test_probe_tables_train_in_full_mode_on_a_copy(model, unigram, texts):
    before = _params(model)
    full = probe(model, Tokenizer.from_file(str(unigram)), _tables(0), texts,
                 ProbeConfig(steps=2, batch_size=2, block_size=16, embeddings_only=False))  # fmt: skip
    emb = probe(model, str(unigram), _tables(0), texts,
                ProbeConfig(steps=2, batch_size=2, block_size=16))  # fmt: skip
    for name, value in _params(model).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    np.testing.assert_array_equal(full.losses[0], emb.losses[0])  # same start, same first batch
    assert not np.array_equal(full.losses[1], emb.losses[1])  # then the body trains too


def test_probe_refuses_tables_of_the_wrong_kind(model, unigram, texts):
    with pytest.raises(ValueError, match="untied LM head: output embeddings are needed"):
        probe(model, str(unigram), TargetEmbeddings(input_embeddings=_tables(0).input_embeddings),
              texts, CFG)  # fmt: skip
    with pytest.raises(ValueError, match="the tokenizer has 400 tokens but the tables 100 rows"):
        small = TargetEmbeddings(np.zeros((100, 32), np.float32), np.zeros((100, 32), np.float32))
        probe(model, str(unigram), small, texts, CFG)
