"""Shared layers: RMSNorm, LayerNorm, Dense, rotary frequencies and HF rope config (vs transformers'
rope functions), masks, GQA attention (incl. the hypernetwork's arithmetic), MLP."""

from __future__ import annotations

import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from zett.models.config import RopeScaling, UnsupportedModelError
from zett.models.layers import (
    Attention,
    Dense,
    GatedMLP,
    LayerNorm,
    RMSNorm,
    apply_rotary,
    attention_mask,
    dot_product_attention,
    position_ids_from_mask,
    rotary_cos_sin,
)
from zett.models.rope import rope_frequencies, rope_from_hf, rope_to_hf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS  # noqa: E402

HEAD_DIM = 32
LONG_SHORT = dict(
    short_factor=[1.0 + 0.1 * i for i in range(HEAD_DIM // 2)],
    long_factor=[2.0 + 0.5 * i for i in range(HEAD_DIM // 2)],
)

# (HF rope_parameters, zett RopeScaling) pairs; max_position_embeddings is 64 for all.
ROPE_CASES = {
    "linear": ({"rope_type": "linear", "factor": 4.0}, RopeScaling("linear", factor=4.0)),
    "dynamic": ({"rope_type": "dynamic", "factor": 2.0}, RopeScaling("dynamic", factor=2.0)),
    "yarn": (
        {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16},
        RopeScaling("yarn", factor=4.0, original_max_position_embeddings=16),
    ),
    "yarn_mscale_notrunc": (
        {
            "rope_type": "yarn",
            "factor": 8.0,
            "original_max_position_embeddings": 16,
            "mscale": 0.9,
            "mscale_all_dim": 0.5,
            "beta_fast": 16.0,
            "beta_slow": 2.0,
            "truncate": False,
        },
        RopeScaling(
            "yarn",
            factor=8.0,
            original_max_position_embeddings=16,
            mscale=0.9,
            mscale_all_dim=0.5,
            beta_fast=16.0,
            beta_slow=2.0,
            truncate=False,
        ),
    ),  # fmt: skip
    "llama3": (
        {
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 16,
        },
        RopeScaling(
            "llama3",
            factor=8.0,
            low_freq_factor=1.0,
            high_freq_factor=4.0,
            original_max_position_embeddings=16,
        ),
    ),  # fmt: skip
    "longrope": (
        {"rope_type": "longrope", "original_max_position_embeddings": 16, **LONG_SHORT},
        RopeScaling(
            "longrope",
            factor=None,
            original_max_position_embeddings=16,
            short_factor=tuple(LONG_SHORT["short_factor"]),
            long_factor=tuple(LONG_SHORT["long_factor"]),
        ),
    ),
}


def _hf_config(rope_parameters: dict) -> transformers.LlamaConfig:
    return transformers.LlamaConfig(
        hidden_size=HEAD_DIM * 2,
        num_attention_heads=2,
        max_position_embeddings=64,
        rope_parameters={**rope_parameters, "rope_theta": 500.0},
    )


@pytest.mark.parametrize("name", sorted(ROPE_CASES))
def test_rope_frequencies_match_transformers(name):
    hf_params, scaling = ROPE_CASES[name]
    inv_ref, factor_ref = ROPE_INIT_FUNCTIONS[hf_params["rope_type"]](_hf_config(hf_params), "cpu")
    inv, factor = rope_frequencies(HEAD_DIM, 500.0, scaling, 64)
    np.testing.assert_allclose(inv, inv_ref.numpy(), rtol=2e-6)
    assert factor == pytest.approx(factor_ref, rel=1e-6)


@pytest.mark.parametrize("name", sorted(ROPE_CASES))
def test_rope_config_from_and_to_hf(name):
    hf_params, scaling = ROPE_CASES[name]
    parsed = rope_from_hf(hf_params, {}, theta=500.0, max_position_embeddings=64, what="test")
    assert parsed == (500.0, scaling)
    back = rope_to_hf(500.0, scaling)
    assert back == {**hf_params, "rope_theta": 500.0}
    assert rope_from_hf(back, {}, theta=1.0, max_position_embeddings=64, what="test") == parsed


def test_rope_config_legacy_keys_and_defaults():
    parse = lambda rope, top={}: rope_from_hf(  # noqa: E731
        rope, top, theta=1e4, max_position_embeddings=128, what="llama"
    )
    assert parse({}) == (1e4, None)
    assert parse({"rope_type": "default", "rope_theta": 7.0}) == (7.0, None)
    assert parse({"type": "linear", "factor": 4}) == (1e4, RopeScaling("linear", factor=4.0))
    llama3 = {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4}
    expected = RopeScaling(
        "llama3",
        factor=8.0,
        low_freq_factor=1.0,
        high_freq_factor=4.0,
        original_max_position_embeddings=128,  # HF's default: max_position_embeddings
    )
    assert parse(llama3) == (1e4, expected)
    top = {"original_max_position_embeddings": 32}  # older configs keep it at the top level
    assert parse({**llama3, "original_max_position_embeddings": 16}, top)[1] == replace(
        expected, original_max_position_embeddings=32
    )
    for rope, top, match in [
        ({"full_attention": {"rope_type": "default"}}, {}, "per-layer-type"),
        ({"rope_type": "linear", "scaling_xyz": 2}, {}, "scaling_xyz"),
        ({"partial_rotary_factor": 0.5}, {}, "partial_rotary_factor"),
        ({}, {"partial_rotary_factor": 0.25}, "partial_rotary_factor"),
        ([1, 2], {}, "mapping"),
    ]:
        with pytest.raises(UnsupportedModelError, match=match):
            parse(rope, top)


def test_default_rope_matches_formula():
    inv, factor = rope_frequencies(8, 10000.0)
    np.testing.assert_allclose(inv, 10000.0 ** (-np.arange(0, 8, 2) / 8), rtol=1e-6)
    assert factor == 1.0


@pytest.mark.parametrize("seq", [10, 100])
def test_runtime_rope_switches_like_transformers(seq):
    """dynamic grows its base past max_position_embeddings; longrope takes long factors past the
    original length."""
    for name in ("dynamic", "longrope"):
        hf_params, scaling = ROPE_CASES[name]
        cfg = _hf_config(hf_params)
        if name == "dynamic":
            inv_ref, _ = ROPE_INIT_FUNCTIONS["dynamic"](cfg, "cpu", seq_len=seq)
        else:
            inv_ref, _ = ROPE_INIT_FUNCTIONS["longrope"](cfg, "cpu", seq_len=seq)
        pos = jnp.arange(seq)[None]
        cos, sin = rotary_cos_sin(pos, HEAD_DIM, 500.0, scaling, 64)
        _, factor = rope_frequencies(HEAD_DIM, 500.0, scaling, 64)
        angles = np.arange(seq)[:, None] * inv_ref.numpy()[None]
        np.testing.assert_allclose(
            np.asarray(cos[0, :, : HEAD_DIM // 2]), np.cos(angles) * factor, atol=2e-5
        )
        np.testing.assert_allclose(
            np.asarray(sin[0, :, HEAD_DIM // 2 :]), np.sin(angles) * factor, atol=2e-5
        )


def test_unsupported_rope_type_raises():
    with pytest.raises(UnsupportedModelError, match="proportional"):
        rope_frequencies(8, 1e4, RopeScaling("proportional"))
    with pytest.raises(UnsupportedModelError, match="short_factor"):
        rope_frequencies(
            8, 1e4, RopeScaling("longrope", original_max_position_embeddings=4, short_factor=(1.0,))
        )


def test_apply_rotary_matches_transformers():
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    rng = np.random.default_rng(0)
    q = rng.normal(size=(2, 5, 3, 8)).astype(np.float32)  # [batch, seq, heads, head_dim]
    pos = np.array([[0, 1, 2, 3, 4], [1, 1, 0, 1, 2]])
    cos, sin = rotary_cos_sin(jnp.asarray(pos), 8, 100.0)
    ours = apply_rotary(jnp.asarray(q), cos, sin)
    ref, _ = apply_rotary_pos_emb(
        torch.tensor(q).transpose(1, 2), torch.tensor(q).transpose(1, 2), torch.tensor(np.asarray(cos)),
        torch.tensor(np.asarray(sin)),
    )  # fmt: skip
    np.testing.assert_allclose(np.asarray(ours), ref.transpose(1, 2).numpy(), atol=1e-6)


def test_rmsnorm_formula_and_gemma_offset():
    x = np.random.default_rng(1).normal(size=(2, 3, 6)).astype(np.float32)
    norm = RMSNorm(6, eps=1e-5)
    norm.weight[...] = jnp.arange(6, dtype=jnp.float32)
    ref = x / np.sqrt((x**2).mean(-1, keepdims=True) + 1e-5) * np.arange(6)
    np.testing.assert_allclose(np.asarray(norm(jnp.asarray(x))), ref, rtol=1e-5, atol=1e-6)
    gemma = RMSNorm(6, eps=1e-5, offset=1.0)
    assert np.all(
        np.asarray(gemma.weight[...]) == 0
    )  # HF Gemma stores (scale - 1), initialised to 0
    gemma.weight[...] = jnp.arange(6, dtype=jnp.float32) - 1.0
    np.testing.assert_allclose(np.asarray(gemma(jnp.asarray(x))), ref, rtol=1e-5, atol=1e-6)


def test_layernorm_matches_numpy_and_keeps_dtype():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 6)).astype(np.float32) * 3 + 1
    norm = LayerNorm(6, eps=1e-5, axis_name="hyper_embed")
    assert norm.scale.out_sharding == ("hyper_embed",)
    np.testing.assert_array_equal(np.asarray(norm.scale[...]), np.ones(6))
    np.testing.assert_array_equal(np.asarray(norm.bias[...]), np.zeros(6))
    scale, bias = rng.normal(size=6).astype(np.float32), rng.normal(size=6).astype(np.float32)
    norm.scale[...], norm.bias[...] = jnp.asarray(scale), jnp.asarray(bias)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(-1, keepdims=True), x64.var(-1, keepdims=True)
    ref = (x64 - mean) / np.sqrt(var + 1e-5) * scale + bias
    np.testing.assert_allclose(np.asarray(norm(jnp.asarray(x))), ref, rtol=1e-5, atol=1e-5)
    y16 = norm(jnp.asarray(x, jnp.bfloat16))
    assert y16.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(y16, np.float32), ref, rtol=2e-2, atol=5e-2)


def test_dense_matches_numpy():
    dense = Dense(5, 3, ("embed", "mlp"), rngs=nnx.Rngs(0))
    assert dense.kernel[...].shape == (5, 3) and dense.bias.out_sharding == ("mlp",)
    rng = np.random.default_rng(5)
    dense.bias[...] = jnp.asarray(rng.normal(size=3), jnp.float32)
    x = rng.normal(size=(2, 4, 5)).astype(np.float32)
    ref = x @ np.asarray(dense.kernel[...]) + np.asarray(dense.bias[...])
    np.testing.assert_allclose(np.asarray(dense(jnp.asarray(x))), ref, rtol=1e-5, atol=1e-6)


def test_position_ids_from_mask():
    mask = jnp.array([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]])
    np.testing.assert_array_equal(
        np.asarray(position_ids_from_mask(mask, 2, 5)), [[1, 1, 0, 1, 2], [0, 1, 2, 1, 1]]
    )
    np.testing.assert_array_equal(
        np.asarray(position_ids_from_mask(None, 2, 3)), [[0, 1, 2], [0, 1, 2]]
    )


def test_attention_mask_causal_window_padding():
    pad = jnp.array([[0, 1, 1, 1, 1]])
    m = np.asarray(attention_mask(pad, 5, causal=True, sliding_window=2))[0, 0, 0]
    q, k = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    expected = (k <= q) & (q - k < 2) & (k >= 1)
    np.testing.assert_array_equal(m, expected)
    bidir = np.asarray(attention_mask(None, 4, causal=False))[0, 0, 0]
    assert bidir.all()


def _naive_attention(q, k, v, mask, scale, softcap):
    """Per-head numpy reference with explicit kv-head repetition (HF `repeat_kv`)."""
    b, s, h, d = q.shape
    rep = h // k.shape[2]
    k = np.repeat(k, rep, axis=2)
    v = np.repeat(v, rep, axis=2)
    out = np.zeros_like(q)
    for bi in range(b):
        for hi in range(h):
            sc = q[bi, :, hi] @ k[bi, :, hi].T * scale
            if softcap:
                sc = np.tanh(sc / softcap) * softcap
            sc = np.where(
                mask[bi], sc, -1e30
            )  # fully masked rows become uniform (ignored by the test)
            p = np.exp(sc - sc.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            out[bi, :, hi] = p @ v[bi, :, hi]
    return out


@pytest.mark.parametrize("softcap,scale", [(None, None), (5.0, 0.3)])
def test_dot_product_attention_gqa_matches_naive(softcap, scale):
    rng = np.random.default_rng(2)
    q = rng.normal(size=(2, 6, 4, 8)).astype(np.float32)
    k = rng.normal(size=(2, 6, 2, 8)).astype(np.float32)
    v = rng.normal(size=(2, 6, 2, 8)).astype(np.float32)
    pad = np.array([[1] * 6, [0, 0, 1, 1, 1, 1]])
    mask = attention_mask(jnp.asarray(pad), 6, sliding_window=3)
    ours = dot_product_attention(
        jnp.asarray(q), jnp.asarray(k), jnp.asarray(v), mask, scale=scale, softcap=softcap
    )
    mask_np = np.broadcast_to(np.asarray(mask)[:, 0, 0], (2, 6, 6))
    ref = _naive_attention(q, k, v, mask_np, 8**-0.5 if scale is None else scale, softcap)
    real = mask_np.any(-1)  # query rows with at least one visible key
    np.testing.assert_allclose(np.asarray(ours)[real], ref[real], atol=1e-5)


def test_attention_module_shapes_and_params():
    attn = Attention(16, 4, 2, 8, qkv_bias=True, out_bias=True, qk_norm=True, rngs=nnx.Rngs(0))
    params = {
        "/".join(map(str, p)): v[...].shape
        for p, v in nnx.iter_graph(attn)
        if isinstance(v, nnx.Param)
    }
    assert params == {
        "q_proj": (16, 4, 8), "k_proj": (16, 2, 8), "v_proj": (16, 2, 8), "o_proj": (4, 8, 16), "q_bias": (4, 8),
        "k_bias": (2, 8), "v_bias": (2, 8), "o_bias": (16,), "q_norm/weight": (8,), "k_norm/weight": (8,),
    }  # fmt: skip
    x = jnp.ones((2, 5, 16))
    cos, sin = rotary_cos_sin(position_ids_from_mask(None, 2, 5), 8, 1e4)
    assert attn(x, cos, sin, None).shape == (2, 5, 16)


def test_gated_mlp_matches_numpy():
    mlp = GatedMLP(6, 10, act="gelu_pytorch_tanh", bias=True, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(3)
    for name in ("gate_bias", "up_bias", "down_bias"):
        var = getattr(mlp, name)
        var[...] = jnp.asarray(rng.normal(size=var[...].shape), jnp.float32)
    x = rng.normal(size=(1, 3, 6)).astype(np.float32)
    g = x @ np.asarray(mlp.gate_proj[...]) + np.asarray(mlp.gate_bias[...])
    u = x @ np.asarray(mlp.up_proj[...]) + np.asarray(mlp.up_bias[...])
    gelu = 0.5 * g * (1 + np.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g**3)))
    ref = (gelu * u) @ np.asarray(mlp.down_proj[...]) + np.asarray(mlp.down_bias[...])
    np.testing.assert_allclose(np.asarray(mlp(jnp.asarray(x))), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(UnsupportedModelError, match="activation"):
        GatedMLP(6, 10, act="swiglu_xyz", rngs=nnx.Rngs(0))


def test_attention_is_jittable():
    attn = Attention(16, 4, 4, 4, sliding_window=2, softcap=10.0, scale=0.1, rngs=nnx.Rngs(0))

    @nnx.jit
    def run(module, x, mask):
        cos, sin = rotary_cos_sin(position_ids_from_mask(mask, *mask.shape), 4, 1e4)
        return module(x, cos, sin, mask)

    x = jax.random.normal(jax.random.key(0), (2, 7, 16))
    mask = jnp.ones((2, 7), jnp.int32)
    cos, sin = rotary_cos_sin(position_ids_from_mask(mask, 2, 7), 4, 1e4)
    np.testing.assert_allclose(
        np.asarray(run(attn, x, mask)), np.asarray(attn(x, cos, sin, mask)), atol=1e-6
    )


def test_hypernet_scores_divide_by_sqrt_head_dim():
    """Bidirectional multi-head attention over padded pieces, the hypernetwork's way: q·k divided by
    sqrt(head_dim); bit for bit the default path (× head_dim ** -0.5) when sqrt(head_dim) is a
    power of two."""
    rng = np.random.default_rng(6)
    pad = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    for d in (24, 64):
        q, k, v = (rng.normal(size=(3, 5, 2, d)).astype(np.float32) for _ in range(3))
        mask = attention_mask(jnp.asarray(pad), 5, causal=False)
        qkv = [jnp.asarray(t) for t in (q, k, v)]
        ours = np.asarray(dot_product_attention(*qkv, mask, hypernet_scores=True))
        ref = _naive_attention(
            q, k, v, np.broadcast_to(pad[:, None, :] == 1, (3, 5, 5)), d**-0.5, None
        )
        np.testing.assert_allclose(ours, ref, atol=1e-5)
        if d == 64:
            np.testing.assert_array_equal(ours, np.asarray(dot_product_attention(*qkv, mask)))
