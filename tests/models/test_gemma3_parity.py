"""Gemma 3 in zett vs transformers' `Gemma3ForCausalLM` (PyTorch, CPU, eager attention): logits, hidden
states, padding, inputs_embeds, config translation and weight names."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from zett.models import gemma3, gemma3_hf  # noqa: E402
from zett.models.config import RopeScaling, UnsupportedModelError  # noqa: E402
from zett.models.weights import assign_weights, export_weights  # noqa: E402

ATOL = 1e-4
SEQ = 24  # 3 × the sliding window (8): local layers must actually cut keys off

# 5 layers: local, local, global, local, local; the second variant adds the final-logit softcap, an
# untied head, linear RoPE scaling on the global layers and a query scalar different from head_dim.
VARIANTS = {
    "plain": gemma3.tiny_config(num_hidden_layers=5),
    "softcap_untied_linear": gemma3.tiny_config(
        num_hidden_layers=5,
        final_logit_softcapping=6.0,
        tie_word_embeddings=False,
        rope_scaling=RopeScaling(rope_type="linear", factor=4.0),
        query_pre_attn_scalar=24.0,
        layer_types=(
            "sliding_attention",
            "full_attention",
            "sliding_attention",
            "sliding_attention",
            "full_attention",
        ),
    ),
}


def hf_model(cfg, seed: int = 0):
    """A transformers model built from `to_hf_config(cfg)` with every weight (norms too) randomised at
    a scale where mistakes show: zero-centred norm weights would hide a missing `1 +`."""
    hf_cfg = transformers.AutoConfig.for_model(**gemma3_hf.to_hf_config(cfg))
    model = transformers.AutoModelForCausalLM.from_config(
        hf_cfg, attn_implementation="eager"
    ).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))
    return model


def hf_tensors(model) -> dict[str, np.ndarray]:
    """The tensors a `save_pretrained` checkpoint holds (tied heads are not saved)."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight")
    return sd


def zett_model(cfg, tensors):
    # abstract init (no random draws): every parameter is then assigned from the checkpoint
    model = nnx.eval_shape(lambda: gemma3.Gemma3(cfg, rngs=nnx.Rngs(0)))
    assign_weights(model, tensors, gemma3_hf.weight_rules(cfg), source="hf state_dict")
    return model


@pytest.fixture(scope="module", params=list(VARIANTS))
def pair(request):
    cfg = VARIANTS[request.param]
    hf = hf_model(cfg)
    return cfg, hf, zett_model(cfg, hf_tensors(hf))


def ids_batch(cfg, batch: int = 2, seq: int = SEQ, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(3, cfg.vocab_size, size=(batch, seq))


def hf_forward(hf, ids=None, mask=None, position_ids=None, embeds=None):
    t = lambda x: None if x is None else torch.as_tensor(np.asarray(x))  # noqa: E731
    with torch.no_grad():
        out = hf(
            input_ids=t(ids),
            attention_mask=t(mask),
            position_ids=t(position_ids),
            inputs_embeds=t(embeds),
            output_hidden_states=True,
            use_cache=False,
        )
    return out.logits.numpy(), [h.numpy() for h in out.hidden_states]


def test_layer_types_cover_both_kinds():
    for cfg in VARIANTS.values():
        kinds = set(gemma3.layer_types_of(cfg))
        assert kinds == {"sliding_attention", "full_attention"}
        assert SEQ >= 2 * cfg.sliding_window


def test_logits_and_hidden_states_match(pair):
    cfg, hf, model = pair
    ids = ids_batch(cfg)
    ref_logits, ref_hidden = hf_forward(hf, ids)
    out = model(jnp.asarray(ids), output_hidden_states=True)
    np.testing.assert_allclose(np.asarray(out.logits), ref_logits, atol=ATOL, rtol=0)
    assert len(out.hidden_states) == len(ref_hidden) == cfg.num_hidden_layers + 1
    for i, (h, r) in enumerate(zip(out.hidden_states, ref_hidden)):
        np.testing.assert_allclose(np.asarray(h), r, atol=ATOL, rtol=0, err_msg=f"hidden state {i}")
    assert np.abs(ref_logits).max() > 1.0  # logits are O(1..10): atol 1e-4 is a real bound


def test_sliding_window_is_exclusive(pair):
    """Key j is visible from query i iff i - j < window: perturbing the token exactly `window` back
    must not change a local-only model's output at i, perturbing `window - 1` back must."""
    cfg, _, _ = pair
    local = cfg.replace(num_hidden_layers=1, layer_types=("sliding_attention",))
    hf = hf_model(local, seed=3)
    model = zett_model(local, hf_tensors(hf))
    ids = ids_batch(local, batch=1)
    base = np.asarray(model(jnp.asarray(ids)).logits)[0]
    i, w = SEQ - 1, local.sliding_window
    for offset, changes in ((w, False), (w - 1, True)):
        moved = ids.copy()
        moved[0, i - offset] = 3 + (moved[0, i - offset] - 2) % (local.vocab_size - 3)
        got = np.asarray(model(jnp.asarray(moved)).logits)[0, i]
        ref, _ = hf_forward(hf, moved)
        np.testing.assert_allclose(got, ref[0, i], atol=ATOL, rtol=0)
        assert (np.abs(got - base[i]).max() > 1e-3) == changes, f"offset {offset}"


def test_right_padding(pair):
    cfg, hf, model = pair
    ids = ids_batch(cfg)
    mask = np.ones_like(ids)
    mask[1, SEQ - 7 :] = 0
    ids[1, SEQ - 7 :] = cfg.pad_token_id
    ref, _ = hf_forward(hf, ids, mask)
    got = np.asarray(model(jnp.asarray(ids), attention_mask=jnp.asarray(mask)).logits)
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], ref[real], atol=ATOL, rtol=0)
    assert np.isfinite(got).all()


def test_left_padding_equals_unpadded(pair):
    cfg, hf, model = pair
    ids = ids_batch(cfg)
    n_pad = 7
    short = ids[1, n_pad:].copy()
    ids[1, :n_pad] = cfg.pad_token_id
    mask = np.ones_like(ids)
    mask[1, :n_pad] = 0
    got = np.asarray(model(jnp.asarray(ids), attention_mask=jnp.asarray(mask)).logits)
    assert np.isfinite(got).all()
    # row 1 vs the unpadded sequence through HF
    ref_short, _ = hf_forward(hf, short[None])
    np.testing.assert_allclose(got[1, n_pad:], ref_short[0], atol=ATOL, rtol=0)
    # and vs HF on the padded batch with the same (mask-derived) positions
    pos = np.where(mask == 1, np.cumsum(mask, axis=-1) - 1, 1)
    ref, _ = hf_forward(hf, ids, mask, position_ids=pos)
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], ref[real], atol=ATOL, rtol=0)


def test_inputs_embeds_path(pair):
    cfg, hf, model = pair
    ids = ids_batch(cfg)
    with torch.no_grad():
        ref_embeds = hf.model.embed_tokens(torch.as_tensor(ids)).numpy()
    np.testing.assert_allclose(
        np.asarray(model.embed(jnp.asarray(ids))), ref_embeds, atol=1e-6, rtol=1e-6
    )
    embeds = np.random.default_rng(5).normal(size=(2, SEQ, cfg.hidden_size)).astype(np.float32)
    ref, ref_hidden = hf_forward(hf, embeds=embeds)
    out = model(inputs_embeds=jnp.asarray(embeds), output_hidden_states=True)
    np.testing.assert_allclose(np.asarray(out.logits), ref, atol=ATOL, rtol=0)
    np.testing.assert_allclose(np.asarray(out.hidden_states[0]), embeds)
    # a caller-supplied table goes through the same scaling
    table = np.asarray(model.get_input_embeddings()) * 2
    np.testing.assert_allclose(
        np.asarray(model.embed(jnp.asarray(ids), jnp.asarray(table))),
        2 * ref_embeds,
        atol=1e-5,
        rtol=1e-6,
    )


def test_output_embeddings_override(pair):
    cfg, hf, model = pair
    ids = jnp.asarray(ids_batch(cfg))
    head = model.get_output_embeddings()
    same = model(ids, output_embeddings=head).logits
    np.testing.assert_array_equal(np.asarray(same), np.asarray(model(ids).logits))
    halved = model(ids, output_embeddings=head[: cfg.vocab_size // 2]).logits
    assert halved.shape[-1] == cfg.vocab_size // 2
    bias = jnp.linspace(-1.0, 1.0, cfg.vocab_size)
    biased = np.asarray(model(ids, output_bias=bias).logits)
    hidden, _ = model.encode(model.embed(ids))
    expected = np.einsum("bse,ve->bsv", np.asarray(hidden), np.asarray(head)) + np.asarray(bias)
    if cfg.final_logit_softcapping is not None:  # the bias enters before the softcap
        expected = cfg.final_logit_softcapping * np.tanh(expected / cfg.final_logit_softcapping)
    np.testing.assert_allclose(biased, expected, atol=1e-4, rtol=0)


def test_resize_vocab_keeps_old_logits(pair):
    cfg, hf, _ = pair
    model = zett_model(cfg, hf_tensors(hf))  # a private copy: resizing mutates it
    ids = jnp.asarray(ids_batch(cfg))
    before = np.asarray(model(ids).logits)
    model.resize_vocab(cfg.vocab_size + 40)
    after = np.asarray(model(ids).logits)
    assert after.shape[-1] == cfg.vocab_size + 40 and model.config.vocab_size == cfg.vocab_size + 40
    np.testing.assert_allclose(after[..., : cfg.vocab_size], before, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="embedding table must be"):
        model.set_input_embeddings(jnp.zeros((10, cfg.hidden_size + 1)))


def test_embedding_scale_rounds_in_table_dtype():
    """HF multiplies by sqrt(hidden) cast to the table dtype: in bfloat16 sqrt(40) = 6.3246 →
    6.3125."""
    cfg = gemma3.tiny_config(hidden_size=40, head_dim=10, param_dtype="bfloat16", dtype="bfloat16")
    hf = hf_model(cfg.replace(param_dtype="float32", dtype="float32")).to(torch.bfloat16)
    model = zett_model(
        cfg, {k: v.float().numpy() for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    )
    ids = ids_batch(cfg)
    with torch.no_grad():
        ref = hf.model.embed_tokens(torch.as_tensor(ids)).float().numpy()
    got = np.asarray(model.embed(jnp.asarray(ids)).astype(jnp.float32))
    np.testing.assert_array_equal(got, ref)
    table = np.asarray(model.get_input_embeddings().astype(jnp.float32))[ids]
    np.testing.assert_array_equal(
        got, np.asarray(jnp.asarray(table * 6.3125).astype(jnp.bfloat16).astype(jnp.float32))
    )


def test_bfloat16_compute_error_is_that_of_transformers():
    """bf16 params and compute: zett's error against the fp32 reference stays within twice the error
    transformers itself makes in bf16 (a wrong cast order, e.g. norms outside fp32, blows it up)."""
    cfg = VARIANTS["plain"]
    hf = hf_model(cfg)
    ids = ids_batch(cfg)
    ref32, _ = hf_forward(hf, ids)
    model = zett_model(cfg.replace(dtype="bfloat16", param_dtype="bfloat16"), hf_tensors(hf))
    logits = model(jnp.asarray(ids)).logits
    assert logits.dtype == jnp.bfloat16
    with torch.no_grad():
        ref16 = hf.to(torch.bfloat16)(torch.as_tensor(ids), use_cache=False).logits.float().numpy()
    hf_err = np.abs(ref16 - ref32).max()
    assert 0 < np.abs(np.asarray(logits.astype(jnp.float32)) - ref32).max() <= 2 * hf_err


# --- config translation --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(VARIANTS))
def test_config_round_trip(name):
    cfg = VARIANTS[name]
    hf_dict = gemma3_hf.to_hf_config(cfg)
    assert gemma3_hf.from_hf_config(hf_dict) == cfg
    # transformers reads it back as the same architecture, and its own dump translates to cfg too
    loaded = transformers.AutoConfig.for_model(**hf_dict)
    assert type(loaded).__name__ == "Gemma3TextConfig"
    assert loaded.layer_types == list(cfg.layer_types)
    assert loaded.rope_parameters["sliding_attention"]["rope_theta"] == cfg.rope_local_base_freq
    assert loaded.rope_parameters["full_attention"]["rope_theta"] == cfg.rope_theta
    reread = gemma3_hf.from_hf_config(loaded.to_dict())
    assert reread.replace(extra={}) == cfg
    assert set(reread.extra) == {
        "initializer_range",
        "use_cache",
        "attention_dropout",
    }  # passed through


def test_legacy_hf_config_keys():
    """Pre-5.x config.json: rope_theta / rope_local_base_freq / rope_scaling /
    sliding_window_pattern."""
    legacy = {
        "model_type": "gemma3_text",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 7,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "head_dim": 16,
        "vocab_size": 300,
        "rope_theta": 500000.0,
        "rope_local_base_freq": 20000.0,
        "rope_scaling": {"rope_type": "linear", "factor": 8.0},
        "sliding_window_pattern": 3,
        "sliding_window": 16,
        "eos_token_id": [1, 106],
        "torch_dtype": "bfloat16",
        "initializer_range": 0.02,
    }
    cfg = gemma3_hf.from_hf_config(legacy)
    assert cfg.layer_types == ("sliding_attention", "sliding_attention", "full_attention") * 2 + (
        "sliding_attention",
    )
    assert (cfg.rope_theta, cfg.rope_local_base_freq) == (500000.0, 20000.0)
    assert cfg.rope_scaling == RopeScaling(rope_type="linear", factor=8.0)
    assert cfg.query_pre_attn_scalar == 256 and cfg.eos_token_id == 1
    assert cfg.extra == {"eos_token_id": [1, 106], "initializer_range": 0.02}
    # transformers agrees on the interpretation of the same legacy dict
    hf = transformers.Gemma3TextConfig(**{k: v for k, v in legacy.items() if k != "model_type"})
    via_hf = gemma3_hf.from_hf_config(hf.to_dict())
    assert via_hf.replace(extra={}) == cfg.replace(extra={})
    assert via_hf.extra["eos_token_id"] == [1, 106]
    assert gemma3_hf.to_hf_config(cfg)["eos_token_id"] == [1, 106]


def test_multimodal_config_uses_text_part():
    text = gemma3_hf.to_hf_config(VARIANTS["plain"])
    text.pop("architectures")
    cfg = gemma3_hf.from_hf_config(
        {"model_type": "gemma3", "text_config": text, "vision_config": {}}
    )
    assert cfg == VARIANTS["plain"]


@pytest.mark.parametrize(
    "change, match",
    [
        ({"use_bidirectional_attention": True}, "bidirectional"),
        ({"attention_bias": True}, "biases"),
        ({"attn_logit_softcapping": 50.0}, "softcapping"),
        ({"hidden_activation": "relu2"}, "activation"),
        (
            {"rope_parameters": {"sliding_attention": {"rope_type": "linear", "factor": 2.0}}},
            "sliding-window",
        ),
        ({"rope_parameters": {"full_attention": {"rope_type": "ntk-by-parts"}}}, "rope type"),
        ({"layer_types": ["sliding_attention"]}, "layer_types"),
    ],
)
def test_unsupported_options_raise(change, match):
    hf_dict = {**gemma3_hf.to_hf_config(VARIANTS["plain"]), **change}
    with pytest.raises(UnsupportedModelError, match=match):
        gemma3_hf.from_hf_config(hf_dict)


# --- weights -------------------------------------------------------------------------------------


def test_export_round_trip(pair):
    cfg, hf, model = pair
    ref = hf_tensors(hf)
    exported = export_weights(model, gemma3_hf.weight_rules(cfg))
    assert sorted(exported) == sorted(ref)
    for name, value in ref.items():
        assert exported[name].shape == value.shape, name
        np.testing.assert_array_equal(exported[name], value, err_msg=name)
    # and a transformers model loads the export strictly
    fresh = transformers.AutoModelForCausalLM.from_config(hf.config, attn_implementation="eager")
    state = {k: torch.from_numpy(np.array(v)) for k, v in exported.items()}
    missing, unexpected = fresh.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}


def test_bad_checkpoint_names_tensor():
    cfg = VARIANTS["plain"]
    tensors = hf_tensors(hf_model(cfg))
    model = nnx.eval_shape(lambda: gemma3.Gemma3(cfg, rngs=nnx.Rngs(0)))
    bad = dict(tensors)
    bad["model.layers.0.self_attn.q_proj.weight"] = bad["model.layers.0.self_attn.q_proj.weight"][
        :-1
    ]
    with pytest.raises(ValueError, match="q_proj"):
        assign_weights(model, bad, gemma3_hf.weight_rules(cfg), source="ckpt")
    del tensors["model.layers.2.self_attn.k_norm.weight"]
    with pytest.raises(ValueError, match="k_norm"):
        assign_weights(model, tensors, gemma3_hf.weight_rules(cfg), source="ckpt")


def test_ignored_tensors_cover_tied_head():
    cfg = VARIANTS["plain"]
    hf = hf_model(cfg)
    full = {k: v.detach().numpy() for k, v in hf.state_dict().items()}  # includes lm_head.weight
    model = nnx.eval_shape(lambda: gemma3.Gemma3(cfg, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match="lm_head"):
        assign_weights(model, full, gemma3_hf.weight_rules(cfg))
    assign_weights(model, full, gemma3_hf.weight_rules(cfg), ignore=gemma3_hf.ignored_tensors(cfg))
    assert gemma3_hf.ignored_tensors(VARIANTS["softcap_untied_linear"]) == ()


def test_checkpoint_directory_round_trip(pair, tmp_path):
    """transformers save_pretrained → zett load_pretrained, and zett save_pretrained → transformers."""
    from zett.models import load_pretrained, save_pretrained

    cfg, hf, model = pair
    ids = ids_batch(cfg)
    ref, _ = hf_forward(hf, ids)
    hf.save_pretrained(tmp_path / "hf")
    loaded = load_pretrained(tmp_path / "hf")
    assert isinstance(loaded, gemma3.Gemma3)
    np.testing.assert_allclose(np.asarray(loaded(jnp.asarray(ids)).logits), ref, atol=ATOL, rtol=0)
    save_pretrained(model, tmp_path / "zett")
    back = transformers.AutoModelForCausalLM.from_pretrained(
        tmp_path / "zett", attn_implementation="eager"
    ).eval()
    np.testing.assert_allclose(hf_forward(back, ids)[0], ref, atol=ATOL, rtol=0)


# --- the real Gemma-3-270m ------------------------------------------------------------------------

SENTENCE = (
    "The quick brown fox jumps over the lazy dog. It was a sunny afternoon, and the children were "
    "playing in the park near the river."
)


@pytest.fixture(scope="module")
def real_gemma():
    from zett import assets
    from zett.checkpoint import read_gguf

    try:
        path = assets.gemma3_gguf()
    except assets.AssetMissingError as e:
        pytest.skip(str(e))
    ckpt = read_gguf(path)
    cfg = gemma3_hf.from_hf_config(ckpt.hf_config)
    model = nnx.eval_shape(lambda: gemma3.Gemma3(cfg, rngs=nnx.Rngs(0)))
    assign_weights(
        model, ckpt.tensors, gemma3_hf.weight_rules(cfg), str(path), gemma3_hf.ignored_tensors(cfg)
    )
    return ckpt, cfg, model


def _ppl(logits: np.ndarray, ids: list[int]) -> float:
    """exp(mean NLL of tokens 1.. given their prefixes); logits [seq, vocab]."""
    logp = np.asarray(jax.nn.log_softmax(jnp.asarray(logits[:-1]), axis=-1))
    return float(np.exp(-np.take_along_axis(logp, np.asarray(ids[1:])[:, None], 1).mean()))


@pytest.mark.slow
@pytest.mark.models
def test_gemma3_270m_matches_transformers_and_perplexity(real_gemma):
    ckpt, cfg, model = real_gemma
    assert cfg.num_hidden_layers == 18 and cfg.sliding_window == 512 and cfg.head_dim == 256
    assert set(cfg.layer_types) == {"sliding_attention", "full_attention"}
    ids = ckpt.tokenizer.encode(SENTENCE).ids
    if ids[0] != cfg.bos_token_id:
        ids = [cfg.bos_token_id] + ids
    forward = nnx.jit(lambda m, x: m(x).logits)
    got = np.asarray(forward(model, jnp.asarray([ids])))[0]

    # transformers on the very same float32 weights (skipping the random init of 262k rows)
    from transformers.initialization import no_init_weights

    hf_cfg = transformers.AutoConfig.for_model(**ckpt.hf_config)
    with no_init_weights():
        hf = transformers.AutoModelForCausalLM.from_config(
            hf_cfg, attn_implementation="eager"
        ).eval()
    missing, unexpected = hf.load_state_dict(
        {k: torch.from_numpy(v) for k, v in ckpt.tensors.items()}, strict=False
    )
    assert not unexpected and set(missing) <= {"lm_head.weight"}
    hf.lm_head.weight = hf.model.embed_tokens.weight  # no_init_weights also skipped the tying
    with torch.no_grad():
        ref = hf(torch.tensor([ids]), use_cache=False).logits[0].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-3, rtol=0)

    ppl = _ppl(got, ids)
    assert 4.0 < ppl < 16.0, f"English perplexity {ppl:.2f}"  # ≈ 8–10 for Gemma-3-270m base
    shuffled = [ids[0]] + list(np.random.default_rng(0).permutation(ids[1:]))
    ppl_shuffled = _ppl(np.asarray(forward(model, jnp.asarray([shuffled])))[0], shuffled)
    assert ppl_shuffled > 10 * ppl, f"shuffled-word perplexity {ppl_shuffled:.1f} vs {ppl:.1f}"
