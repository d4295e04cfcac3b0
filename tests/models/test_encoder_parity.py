"""BERT / RoBERTa / XLM-R masked LMs in zett against transformers (PyTorch CPU), fp32, atol 1e-4."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from zett.models import bert_hf, encoder, load_pretrained
from zett.models.config import UnsupportedModelError
from zett.models.weights import param_paths

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ATOL = 1e-4
FAMILIES = ("bert", "roberta", "xlm-roberta")
HF_CLASSES = {
    "bert": (transformers.BertConfig, transformers.BertForMaskedLM),
    "roberta": (transformers.RobertaConfig, transformers.RobertaForMaskedLM),
    "xlm-roberta": (transformers.XLMRobertaConfig, transformers.XLMRobertaForMaskedLM),
}


@partial(jax.jit, static_argnums=0)
def _forward(graphdef, state, kwargs):
    return nnx.merge(graphdef, state)(**kwargs, output_hidden_states=True)


def forward(model, input_ids=None, **kwargs):
    """model(...) jitted once per config and input signature: eager dispatch compiles op by op, which
    costs seconds per call on a busy 2-core CPU."""
    kwargs = {
        k: jnp.asarray(v) for k, v in dict(kwargs, input_ids=input_ids).items() if v is not None
    }
    return _forward(*nnx.split(model), kwargs)


def _randomize(model: torch.nn.Module) -> None:
    """HF init leaves biases at 0 and LayerNorms at 1, which would hide layout bugs."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif "embeddings" in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / p.shape[-1] ** 0.5)


def make_pair(family: str, directory, **overrides):
    """A random HF masked LM saved by transformers, and the zett model loaded from that directory."""
    torch.manual_seed(0)
    config = encoder.tiny_config(family=family, **overrides)
    hf_config_cls, hf_model_cls = HF_CLASSES[family]
    hf = hf_model_cls(hf_config_cls(**bert_hf.to_hf_config(config))).eval()
    _randomize(hf)
    hf.save_pretrained(directory)
    return hf, load_pretrained(directory)


@pytest.fixture(scope="module", params=FAMILIES)
def pair(request, tmp_path_factory):
    return make_pair(request.param, tmp_path_factory.mktemp(request.param))


def _batch(config, seed: int = 0):
    """ids [3, 12]: a full row; a 7-token row padded on the right; the same 7 tokens padded on the
    left."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, config.vocab_size, (3, 12))
    mask = np.ones((3, 12), np.int64)
    mask[1, 7:] = 0
    mask[2, :5] = 0
    ids[2, 5:] = ids[1, :7]
    return np.where(mask == 1, ids, config.pad_token_id), mask


def _hf(hf, **kw):
    with torch.no_grad():
        return hf(
            **{k: torch.tensor(np.asarray(v)) for k, v in kw.items()}, output_hidden_states=True
        )


def _hf_position_ids(ids: np.ndarray, config) -> np.ndarray:
    """transformers' own rule from input ids (fairseq's make_positions) for RoBERTa; 0.. for BERT."""
    if config.family == "bert":
        return np.broadcast_to(np.arange(ids.shape[1]), ids.shape)
    keep = (ids != config.pad_token_id).astype(np.int64)
    return np.cumsum(keep, axis=1) * keep + config.pad_token_id


def test_logits_and_hidden_states_match_transformers(pair):
    hf, model = pair
    ids, mask = _batch(model.config)
    ref = _hf(hf, input_ids=ids, attention_mask=mask)
    out = forward(model, ids, attention_mask=mask)
    real = mask.astype(bool)  # outputs at padding positions are arbitrary, in HF and here
    np.testing.assert_allclose(
        np.asarray(out.logits)[real], ref.logits.numpy()[real], atol=ATOL, rtol=0
    )
    assert len(out.hidden_states) == len(ref.hidden_states) == model.config.num_hidden_layers + 1
    for ours, theirs in zip(out.hidden_states, ref.hidden_states):
        np.testing.assert_allclose(np.asarray(ours)[real], theirs.numpy()[real], atol=ATOL, rtol=0)
    if model.config.family != "bert":
        # positions follow the mask: the same tokens padded left or right give the same outputs
        np.testing.assert_allclose(
            np.asarray(out.logits)[2, 5:], np.asarray(out.logits)[1, :7], atol=ATOL, rtol=0
        )


def test_inputs_embeds_path_matches_transformers(pair):
    hf, model = pair
    ids, mask = _batch(model.config, seed=1)
    embeds = np.asarray(model.get_input_embeddings())[
        ids
    ]  # what HF calls inputs_embeds for BERT models
    positions = _hf_position_ids(ids, model.config)
    # HF's inputs_embeds path cannot see padding and numbers RoBERTa positions from 0 regardless, so
    # the positions its input_ids path would use are passed to both
    ref = _hf(hf, inputs_embeds=embeds, attention_mask=mask, position_ids=positions)
    ours = forward(model, inputs_embeds=embeds, attention_mask=mask, position_ids=positions)
    real = mask.astype(bool)
    np.testing.assert_allclose(
        np.asarray(ours.logits)[real], ref.logits.numpy()[real], atol=ATOL, rtol=0
    )
    # and zett derives exactly those positions itself from the mask
    np.testing.assert_array_equal(np.asarray(model.position_ids(jnp.asarray(real))), positions)


def test_untied_head_matches_transformers(tmp_path):
    # transformers 5 leaves `cls.predictions.bias` unused when untied (the decoder has its own bias)
    with pytest.warns(UserWarning, match=r"cls\.predictions\.bias"):
        hf, model = make_pair("bert", tmp_path, tie_word_embeddings=False)
    assert not model.tied
    assert not np.array_equal(
        np.asarray(model.get_output_embeddings()), np.asarray(model.get_input_embeddings())
    )
    ids, mask = _batch(model.config)
    ref = _hf(hf, input_ids=ids, attention_mask=mask).logits.numpy()
    ours = np.asarray(forward(model, ids, attention_mask=mask).logits)
    np.testing.assert_allclose(ours[mask.astype(bool)], ref[mask.astype(bool)], atol=ATOL, rtol=0)


def test_supplied_head_and_output_bias(tmp_path):
    _, model = make_pair("bert", tmp_path)
    ids, mask = _batch(model.config)
    rng = np.random.default_rng(0)
    table = rng.normal(size=(model.vocab_size, model.config.hidden_size)).astype(np.float32)
    bias = rng.normal(size=(model.vocab_size,)).astype(np.float32)
    over = dict(input_embeddings=table, output_embeddings=table, output_bias=bias)
    supplied = forward(model, ids, attention_mask=mask, **over).logits
    before = forward(
        model, ids, attention_mask=mask, **{k: np.asarray(v) for k, v in _own_head(model).items()}
    )
    assert not np.allclose(
        np.asarray(supplied), np.asarray(before.logits), atol=1e-3
    )  # the override took effect
    model.set_input_embeddings(jnp.asarray(table))
    model.set_output_bias(jnp.asarray(bias))
    np.testing.assert_array_equal(np.asarray(model.get_output_bias()), bias)
    after = forward(
        model, ids, attention_mask=mask, **{k: np.asarray(v) for k, v in _own_head(model).items()}
    )
    np.testing.assert_allclose(np.asarray(after.logits), np.asarray(supplied), atol=1e-6)
    with pytest.raises(ValueError, match="tied"):
        model.set_output_embeddings(jnp.asarray(table) + 1.0)


def _own_head(model):
    """The model's own tables passed explicitly: same jit signature as the override, one compile."""
    e = model.get_input_embeddings()
    return dict(
        input_embeddings=e,
        output_embeddings=model.get_output_embeddings(),
        output_bias=model.get_output_bias(),
    )


def test_resize_vocab_grows_table_and_bias(tmp_path):
    _, model = make_pair("roberta", tmp_path)
    old_bias = np.asarray(model.get_output_bias())
    model.resize_vocab(model.vocab_size + 7)
    assert model.get_input_embeddings().shape == (old_bias.shape[0] + 7, model.config.hidden_size)
    np.testing.assert_array_equal(
        np.asarray(model.get_output_bias())[: old_bias.shape[0]], old_bias
    )
    ids, mask = _batch(model.config)
    ids[0, 0] = model.vocab_size - 1
    assert forward(model, ids, attention_mask=mask).logits.shape == (3, 12, model.vocab_size)


def test_bfloat16_compute_stays_close(tmp_path):
    make_pair("bert", tmp_path)
    model32 = load_pretrained(tmp_path)
    model16 = load_pretrained(tmp_path, dtype="bfloat16")
    assert all(v.get_value().dtype == jnp.bfloat16 for v in param_paths(model16).values())
    ids, mask = _batch(model32.config)
    a = np.asarray(forward(model32, ids, attention_mask=mask).logits)
    b = np.asarray(forward(model16, ids, attention_mask=mask).logits).astype(np.float32)
    assert np.isfinite(b).all()
    # bf16 keeps 8 mantissa bits: a few percent of the logit scale is the expected error, not 1e-4
    assert np.abs(a - b).max() < 0.1 * np.abs(a).max()


def test_config_round_trip_and_rejections():
    for family in FAMILIES:
        config = encoder.tiny_config(family=family)
        hf = bert_hf.to_hf_config(config)
        transformers.AutoConfig.for_model(**hf)  # transformers accepts what zett writes
        assert bert_hf.from_hf_config(hf) == config
    hf = bert_hf.to_hf_config(encoder.tiny_config())
    with pytest.raises(UnsupportedModelError, match="position_embedding_type"):
        bert_hf.from_hf_config({**hf, "position_embedding_type": "relative_key"})
    with pytest.raises(UnsupportedModelError, match="BertForSequenceClassification"):
        bert_hf.from_hf_config({**hf, "architectures": ["BertForSequenceClassification"]})
    with pytest.raises(UnsupportedModelError, match="is_decoder"):
        bert_hf.from_hf_config({**hf, "is_decoder": True})
    with pytest.raises(UnsupportedModelError, match="hidden_act"):
        bert_hf.from_hf_config({**hf, "hidden_act": "mish"})


def test_sequence_longer_than_positions_is_refused():
    config = encoder.tiny_config(family="roberta")
    model = nnx.eval_shape(lambda: encoder.EncoderModel(config, rngs=nnx.Rngs(0)))
    too_long = config.max_position_embeddings - config.position_offset + 1
    with pytest.raises(ValueError, match="exceeds"):
        model.encode(jnp.zeros((1, too_long, config.hidden_size)))


# --- the real all-MiniLM-L6-v2 (a BertModel: encoder + pooler, no MLM head)
# ---------------------------
SENTENCES = [
    "In the beginning God created the heaven and the earth.",
    "The quick brown fox jumps over the lazy dog while the farmer watches from his porch.",
    "Zero-shot tokenizer transfer moves a pretrained language model onto a new tokenizer.",
    "Paris is the capital of France.",
]


@partial(jax.jit, static_argnums=0)
def _encode(graphdef, state, ids, mask):
    model = nnx.merge(graphdef, state)
    hidden = model.encode(model.embed(ids), mask)[0]
    return hidden, model.pool(hidden)


@pytest.mark.models
def test_minilm_hidden_states_match_transformers():
    from zett.assets import AssetMissingError, minilm_dir

    try:
        path = minilm_dir()
    except AssetMissingError as e:
        pytest.skip(str(e))
    model = load_pretrained(path)
    assert not model.config.has_lm_head
    tok = transformers.AutoTokenizer.from_pretrained(str(path))
    enc = tok(SENTENCES, padding=True, return_tensors="np")
    hf = transformers.BertModel.from_pretrained(str(path)).eval()
    with torch.no_grad():
        ref = hf(
            input_ids=torch.tensor(enc["input_ids"]),
            attention_mask=torch.tensor(enc["attention_mask"]),
        )
    hidden, pooled = _encode(
        *nnx.split(model), jnp.asarray(enc["input_ids"]), jnp.asarray(enc["attention_mask"])
    )
    real = enc["attention_mask"].astype(bool)
    assert real.sum() > 60
    np.testing.assert_allclose(
        np.asarray(hidden)[real], ref.last_hidden_state.numpy()[real], atol=ATOL, rtol=0
    )
    np.testing.assert_allclose(np.asarray(pooled), ref.pooler_output.numpy(), atol=ATOL, rtol=0)
    with pytest.raises(ValueError, match="no masked-LM head"):
        model.logits_from_hidden(hidden)
    with pytest.raises(ValueError, match="no masked-LM head"):
        model.get_output_embeddings()
