"""MLM hypernets: special tokens copy the source model's logit bias, in training and in
prediction."""

import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.hypernet.config import HypernetConfig
from zett.hypernet.losses import predicted_tables
from zett.hypernet.model import Hypernet
from zett.hypernet.predict import predict_embeddings
from zett.sampling import Batch
from zett.tokenization import Decomposer, canonicalize, load_tokenizer, map_specials

CFG = HypernetConfig(
    hidden_size=32, intermediate_size=64, num_layers=1, surface_maxlen=4, predict_bias=True
)


def _hypernet(vocab: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    src = rng.normal(size=(vocab, 16)).astype(np.float32)
    bias = rng.normal(size=vocab).astype(np.float32) * 3.0
    return Hypernet(CFG, src, None, bias, rngs=nnx.Rngs(seed)), bias


def test_training_tables_copy_special_bias_rows():
    hn, bias = _hypernet(50)
    k = 6
    surface = np.zeros((k, 4), np.int32)
    surface[:, 0] = [3, 7, 11, 12, 40, 2]
    special = np.array([3, -1, -1, 12, -1, -1], np.int32)
    batch = Batch(
        np.zeros((1, 4), np.int32),
        np.ones((1, 4), np.int32),
        np.zeros((1, 4), np.int32),
        surface,
        np.ones(k, np.int32),
        special,
        np.full(k, -1, np.int32),
        np.ones(k, bool),
        np.ones(1, np.int32),
    )
    _, _, got = predicted_tables(hn, batch)
    predicted = np.asarray(hn(jnp.asarray(surface), jnp.ones(k, jnp.int32)).bias)
    got = np.asarray(got)
    np.testing.assert_array_equal(got[[0, 3]], bias[[3, 12]])
    np.testing.assert_array_equal(got[[1, 2, 4, 5]], predicted[[1, 2, 4, 5]])
    assert not np.allclose(
        predicted[[0, 3]], bias[[3, 12]]
    )  # the copy is not what the head predicts


def test_predicted_vocabulary_copies_special_bias_from_the_hypernets_source():
    tok = load_tokenizer("minilm")
    vocab = canonicalize(tok)
    hn, bias = _hypernet(tok.tokenizer.get_vocab_size(with_added_tokens=True))
    pred = predict_embeddings(hn, Decomposer(tok, maxlen=CFG.surface_maxlen), vocab, progress=False)
    specials = map_specials(vocab, vocab)
    assert len(specials) >= 4  # [PAD] [UNK] [CLS] [SEP] [MASK]
    for t_id, s_id in specials.items():
        assert pred.output_bias[t_id] == bias[s_id]
    regular = np.flatnonzero(~pred.copied)
    assert not np.allclose(pred.output_bias[regular[:100]], bias[regular[:100]])
