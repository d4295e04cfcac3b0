"""The one set of transformer building blocks: norms, dense layers, attention, MLPs, activations.

Used by every model in zett: `decoder.py` (Llama/Mistral/Qwen2/Qwen3), `gemma3.py`, `encoder.py`
(BERT/RoBERTa/XLM-R) and the hypernetwork (`zett.hypernet.model`). Causal, sliding-window and
bidirectional attention differ only in the mask (`attention_mask`); grouped-query and multi-head
attention only in a reshape (`dot_product_attention`). Parameters are stored in the layout the
einsums want (not HF's `[out, in]`); each family's `<family>_hf.py` transposes/reshapes on load.

Einsum axis letters (the one vocabulary for every einsum in zett's models):
    b  batch (the hypernetwork: the tokens whose embeddings it predicts)
    s  query position            t  key position (= s for self-attention over the same sequence)
    e  embed (model width)       f  mlp (FFN width)        v  vocab
    h  query heads               k  kv heads               g  query heads per kv head (h = k * g)
    d  head_dim                  i / o  a dense layer's input / output width

Parameter layouts (logical axis names in brackets):
    RMSNorm.weight   [embed] (or [head_dim] for q/k norms)
    LayerNorm.scale / bias [embed]
    Dense.kernel [in, out]   Dense.bias [out]
    Attention.q_proj [embed, heads, head_dim]      k_proj / v_proj [embed, kv_heads, head_dim]
    Attention.o_proj [heads, head_dim, embed]      q_bias [heads, head_dim], k_bias / v_bias [kv_heads, head_dim]
    GatedMLP.gate_proj / up_proj [embed, mlp]      down_proj [mlp, embed]

Compute: parameters live in `param_dtype` and are cast to the compute dtype when used; norms and
softmax run in float32 and cast back, like HF."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.api import param
from zett.models.config import UnsupportedModelError
from zett.models.rope import (
    apply_rotary,
    rope_frequencies,
    rotary_cos_sin,
)  # re-exported for model files

__all__ = [
    "ACTIVATIONS",
    "Attention",
    "Dense",
    "GatedMLP",
    "Init",
    "LayerNorm",
    "RMSNorm",
    "activation",
    "apply_rotary",
    "attention_mask",
    "dot_product_attention",
    "normal_init",
    "position_ids_from_mask",
    "rope_frequencies",
    "rotary_cos_sin",
]

# HF `hidden_act` names → functions (gelu_pytorch_tanh / gelu_new / gelu_fast are the tanh
# approximation, gelu / gelu_python the exact erf form).
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "gelu_python": lambda x: jax.nn.gelu(x, approximate=False),
    "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_fast": lambda x: jax.nn.gelu(x, approximate=True),
    "relu": jax.nn.relu,
}


def activation(name: str) -> Callable[[jax.Array], jax.Array]:
    if name not in ACTIVATIONS:
        raise UnsupportedModelError(
            f"activation {name!r} is not supported; zett implements {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]


# (rngs, shape, dtype) → an initial parameter value
Init = Callable[[nnx.Rngs, tuple[int, ...], jnp.dtype], jax.Array]


def normal_init(
    rngs: nnx.Rngs, shape: tuple[int, ...], dtype: jnp.dtype, std: float = 0.02
) -> jax.Array:
    """HF's default init (normal, `initializer_range` 0.02); real weights are loaded over it anyway."""
    return (std * jax.random.normal(rngs.params(), shape, jnp.float32)).astype(dtype)


class Dense(nnx.Module):
    """x [..., in] @ kernel [in, out] + bias [out], with logical axes `axes` = (in, out) on the kernel."""

    def __init__(
        self,
        d_in: int,
        d_out: int,
        axes: tuple[str | None, str | None],
        *,
        init: Init = normal_init,
        param_dtype: jnp.dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.kernel = param(init(rngs, (d_in, d_out), param_dtype), axes)
        self.bias = param(jnp.zeros((d_out,), param_dtype), (axes[1],))

    def __call__(self, x: jax.Array) -> jax.Array:
        """Computed in x's dtype."""
        y = jnp.einsum("...i,io->...o", x, self.kernel[...].astype(x.dtype))
        return y + self.bias[...].astype(x.dtype)


class RMSNorm(nnx.Module):
    """y = x / sqrt(mean(x²) + eps) * (offset + weight); weight [dim].

    `offset=0` is Llama/Qwen (weight initialised to 1); `offset=1` is Gemma (weight initialised to
    0, HF stores the delta)."""

    def __init__(
        self,
        dim: int,
        *,
        eps: float = 1e-6,
        offset: float = 0.0,
        axis_name: str = "embed",
        dtype: jnp.dtype = jnp.float32,
        param_dtype: jnp.dtype = jnp.float32,
    ):
        self.eps = eps
        self.offset = offset
        self.dtype = dtype
        init = jnp.zeros if offset else jnp.ones
        self.weight = param(init((dim,), param_dtype), (axis_name,))

    def __call__(self, x: jax.Array) -> jax.Array:
        x32 = x.astype(jnp.float32)
        normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return (normed * (self.offset + self.weight[...].astype(jnp.float32))).astype(self.dtype)


class LayerNorm(nnx.Module):
    """y = (x - mean(x)) / sqrt(var(x) + eps) * scale + bias; scale / bias [dim].

    Statistics in float32 whatever the compute dtype (as torch's LayerNorm under autocast); the
    result has x's dtype."""

    def __init__(
        self,
        dim: int,
        *,
        eps: float,
        axis_name: str = "embed",
        param_dtype: jnp.dtype = jnp.float32,
    ):
        self.eps = eps
        self.scale = param(jnp.ones((dim,), param_dtype), (axis_name,))
        self.bias = param(jnp.zeros((dim,), param_dtype), (axis_name,))

    def __call__(self, x: jax.Array) -> jax.Array:
        x32 = x.astype(jnp.float32)
        mean = x32.mean(-1, keepdims=True)
        var = jnp.square(x32 - mean).mean(-1, keepdims=True)
        y = (x32 - mean) * jax.lax.rsqrt(var + self.eps) * self.scale[...].astype(jnp.float32)
        return (y + self.bias[...].astype(jnp.float32)).astype(x.dtype)


def position_ids_from_mask(attention_mask: jax.Array | None, batch: int, seq: int) -> jax.Array:
    """[batch, seq] positions: 0.. over real tokens only (so left padding works), 1 at pads (as HF
    generate)."""
    if attention_mask is None:
        return jnp.broadcast_to(jnp.arange(seq, dtype=jnp.int32), (batch, seq))
    mask = attention_mask.astype(jnp.int32)
    return jnp.where(mask == 1, jnp.cumsum(mask, axis=-1) - 1, 1)


def attention_mask(
    padding_mask: jax.Array | None,
    q_len: int,
    kv_len: int | None = None,
    *,
    causal: bool = True,
    sliding_window: int | None = None,
) -> jax.Array:
    """bool [batch or 1, 1, 1, q_len, kv_len] (True = may attend), shaped for grouped scores
    [b, k, g, s, t] (`dot_product_attention` drops an axis for multi-head scores [b, h, s, t]).

    padding_mask [batch, kv_len]: 1 = token, 0 = pad (keys only; padded queries produce garbage that
    callers ignore, exactly as in HF). Causal: key index ≤ query index; sliding window (HF
    semantics): query index − key index < window. Indices are array positions, not position ids."""
    kv_len = q_len if kv_len is None else kv_len
    q_idx = jnp.arange(q_len)[:, None] + (kv_len - q_len)  # queries are the last q_len positions
    k_idx = jnp.arange(kv_len)[None, :]
    allowed = jnp.ones((q_len, kv_len), bool)
    if causal:
        allowed &= k_idx <= q_idx
    if sliding_window is not None:
        allowed &= q_idx - k_idx < sliding_window
        if not causal:
            allowed &= k_idx - q_idx < sliding_window
    allowed = allowed[None, None, None]
    if padding_mask is not None:
        allowed = allowed & padding_mask.astype(bool)[:, None, None, None, :]
    return allowed


def dot_product_attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    mask: jax.Array | None = None,
    *,
    scale: float | None = None,
    softcap: float | None = None,
    hypernet_scores: bool = False,
) -> jax.Array:
    """Scaled dot-product attention, grouped-query (kv_heads < heads) or multi-head (kv_heads = heads).

    q [batch, seq, heads, head_dim], k/v [batch, kv_seq, kv_heads, head_dim] → [batch, seq, heads,
    head_dim]. Query head h uses kv head h // (heads // kv_heads) (HF `repeat_kv`). `mask` from
    `attention_mask` (causal, sliding-window or bidirectional). q·k is accumulated in float32 and
    multiplied by `scale` (default head_dim ** -0.5); `softcap` applies cap * tanh(scores / cap)
    after scaling and before masking (Gemma 2/3). Softmax in float32, probabilities in v's dtype.

    `hypernet_scores=True` keeps the hypernetwork's own arithmetic, which its trained checkpoints
    were fitted with: q·k in q's dtype, then cast to float32 and *divided* by sqrt(head_dim) (the
    same numbers in float32 when sqrt(head_dim) is a power of two, as for head_dim 64, but not bit
    for bit in general); `scale` and `softcap` do not apply."""
    b, s, h, d = q.shape
    kv_heads = k.shape[2]
    if h % kv_heads:
        raise ValueError(f"{h} query heads are not a multiple of {kv_heads} kv heads")
    if kv_heads == h:  # multi-head: no group axis (einsums of a size-1 axis round differently)
        to_scores, to_out = "bshd,bthd->bhst", "bhst,bthd->bshd"
        if mask is not None:
            mask = mask.reshape(mask.shape[0], 1, *mask.shape[-2:])
    else:  # grouped-query: query heads [kv_heads, group]
        q = q.reshape(b, s, kv_heads, h // kv_heads, d)
        to_scores, to_out = "bskgd,btkd->bkgst", "bkgst,btkd->bskgd"
    if hypernet_scores:
        scores = jnp.einsum(to_scores, q, k).astype(jnp.float32) / np.sqrt(d)
    else:
        scale = d**-0.5 if scale is None else scale
        scores = jnp.einsum(to_scores, q, k, preferred_element_type=jnp.float32) * scale
        if softcap is not None:
            scores = jnp.tanh(scores / softcap) * softcap
    if mask is not None:
        # a finite fill (not -inf): a row with no allowed key gives a uniform softmax, not NaN
        scores = jnp.where(mask, scores, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(scores, axis=-1).astype(v.dtype)
    return jnp.einsum(to_out, probs, v).reshape(b, s, h, d)


class Attention(nnx.Module):
    """Self-attention with GQA, optional rotary, optional q/k/v/o biases, per-head q/k RMSNorm,
    causal or bidirectional masking, sliding window, logit softcap and a configurable query scale.

    `__call__(x [batch, seq, embed], cos, sin, padding_mask [batch, seq] | None) → [batch, seq,
    embed]`; cos/sin from `rotary_cos_sin`, or None for models without rotary positions (BERT).
    Qwen3/Gemma 3 apply q/k norm before rotary (as here)."""

    def __init__(
        self,
        embed: int,
        num_heads: int,
        num_kv_heads: int,
        head_dim: int,
        *,
        qkv_bias: bool = False,
        out_bias: bool = False,
        qk_norm: bool = False,
        norm_eps: float = 1e-6,
        norm_offset: float = 0.0,
        scale: float | None = None,
        softcap: float | None = None,
        sliding_window: int | None = None,
        causal: bool = True,
        init: Init = normal_init,
        dtype: jnp.dtype = jnp.float32,
        param_dtype: jnp.dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.scale = head_dim**-0.5 if scale is None else scale
        self.softcap = softcap
        self.sliding_window = sliding_window
        self.causal = causal
        self.dtype = dtype
        self.q_proj = param(
            init(rngs, (embed, num_heads, head_dim), param_dtype), ("embed", "heads", "head_dim")
        )
        kv_shape = (embed, num_kv_heads, head_dim)
        self.k_proj = param(init(rngs, kv_shape, param_dtype), ("embed", "kv_heads", "head_dim"))
        self.v_proj = param(init(rngs, kv_shape, param_dtype), ("embed", "kv_heads", "head_dim"))
        self.o_proj = param(
            init(rngs, (num_heads, head_dim, embed), param_dtype), ("heads", "head_dim", "embed")
        )
        if qkv_bias:
            self.q_bias = param(
                jnp.zeros((num_heads, head_dim), param_dtype), ("heads", "head_dim")
            )
            self.k_bias = param(
                jnp.zeros((num_kv_heads, head_dim), param_dtype), ("kv_heads", "head_dim")
            )
            self.v_bias = param(
                jnp.zeros((num_kv_heads, head_dim), param_dtype), ("kv_heads", "head_dim")
            )
        else:
            self.q_bias = self.k_bias = self.v_bias = None
        self.o_bias = param(jnp.zeros((embed,), param_dtype), ("embed",)) if out_bias else None
        if qk_norm:
            kw = dict(
                eps=norm_eps,
                offset=norm_offset,
                axis_name="head_dim",
                dtype=dtype,
                param_dtype=param_dtype,
            )
            self.q_norm = RMSNorm(head_dim, **kw)
            self.k_norm = RMSNorm(head_dim, **kw)
        else:
            self.q_norm = self.k_norm = None

    def _project(self, x: jax.Array, kernel: nnx.Param, bias: nnx.Param | None) -> jax.Array:
        y = jnp.einsum("bse,ehd->bshd", x, kernel[...].astype(self.dtype))
        return y if bias is None else y + bias[...].astype(self.dtype)

    def __call__(
        self,
        x: jax.Array,
        cos: jax.Array | None = None,
        sin: jax.Array | None = None,
        padding_mask: jax.Array | None = None,
    ) -> jax.Array:
        x = x.astype(self.dtype)
        q = self._project(x, self.q_proj, self.q_bias)
        k = self._project(x, self.k_proj, self.k_bias)
        v = self._project(x, self.v_proj, self.v_bias)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if cos is not None:
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        mask = attention_mask(
            padding_mask, x.shape[1], causal=self.causal, sliding_window=self.sliding_window
        )
        out = dot_product_attention(q, k, v, mask, scale=self.scale, softcap=self.softcap)
        y = jnp.einsum("bshd,hde->bse", out, self.o_proj[...].astype(self.dtype))
        return y if self.o_bias is None else y + self.o_bias[...].astype(self.dtype)


class GatedMLP(nnx.Module):
    """down(act(gate(x)) * up(x)): SwiGLU for `silu` (Llama/Qwen), GeGLU for `gelu_pytorch_tanh`
    (Gemma)."""

    def __init__(
        self,
        embed: int,
        mlp: int,
        *,
        act: str = "silu",
        bias: bool = False,
        dtype: jnp.dtype = jnp.float32,
        param_dtype: jnp.dtype = jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.act = activation(act)
        self.dtype = dtype
        self.gate_proj = param(normal_init(rngs, (embed, mlp), param_dtype), ("embed", "mlp"))
        self.up_proj = param(normal_init(rngs, (embed, mlp), param_dtype), ("embed", "mlp"))
        self.down_proj = param(normal_init(rngs, (mlp, embed), param_dtype), ("mlp", "embed"))
        if bias:
            self.gate_bias = param(jnp.zeros((mlp,), param_dtype), ("mlp",))
            self.up_bias = param(jnp.zeros((mlp,), param_dtype), ("mlp",))
            self.down_bias = param(jnp.zeros((embed,), param_dtype), ("embed",))
        else:
            self.gate_bias = self.up_bias = self.down_bias = None

    @staticmethod
    def _bias(y: jax.Array, b: nnx.Param | None) -> jax.Array:
        return y if b is None else y + b[...].astype(y.dtype)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.astype(self.dtype)
        gate = self._bias(
            jnp.einsum("bse,ef->bsf", x, self.gate_proj[...].astype(self.dtype)), self.gate_bias
        )
        up = self._bias(
            jnp.einsum("bse,ef->bsf", x, self.up_proj[...].astype(self.dtype)), self.up_bias
        )
        y = jnp.einsum("bsf,fe->bse", self.act(gate) * up, self.down_proj[...].astype(self.dtype))
        return self._bias(y, self.down_bias)
