"""Decoder-only causal LMs: Llama (incl. SmolLM2), Mistral, Qwen2 (q/k/v bias) and Qwen3 (per-head q/k
norm).

One pre-norm block for all four: x + attn(norm(x)), then x + mlp(norm(x)); final RMSNorm; LM head
tied to the embeddings or separate. Hidden states follow HF: embeddings first, then every layer's
output, the last one after the final norm."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.api import LanguageModel, dtype_of, param
from zett.models.config import (
    DECODER_FAMILIES,
    HF_ARCHITECTURES,
    ModelConfig,
    RopeScaling,
    UnsupportedModelError,
)
from zett.models.layers import (
    Attention,
    GatedMLP,
    RMSNorm,
    activation,
    normal_init,
    position_ids_from_mask,
    rotary_cos_sin,
)
from zett.models.rope import check_rope_scaling
from zett.models.weights import WeightRule, transpose

FAMILIES: tuple[str, ...] = DECODER_FAMILIES

LAYER_TYPES = ("full_attention", "sliding_attention")


def check_config(config: ModelConfig) -> None:
    """Raises for settings the decoder family (or its HF counterpart) cannot represent."""
    fam = config.family
    if fam not in FAMILIES:
        raise UnsupportedModelError(f"decoder.py handles {FAMILIES}, not {fam!r}")
    activation(config.hidden_act)
    check_rope_scaling(config.rope_scaling, config.resolved_head_dim)
    gemma_only = {
        "query_pre_attn_scalar": config.query_pre_attn_scalar,
        "attn_logit_softcapping": config.attn_logit_softcapping,
        "final_logit_softcapping": config.final_logit_softcapping,
    }
    for name, value in gemma_only.items():
        if value is not None:
            raise UnsupportedModelError(f"{fam}: {name}={value} is not part of this architecture")
    if fam == "llama" and config.sliding_window is not None:
        raise UnsupportedModelError(
            "llama has no sliding-window attention (use family 'mistral' or 'qwen2')"
        )
    if fam in ("mistral", "qwen2") and (config.attention_bias or config.mlp_bias):
        raise UnsupportedModelError(
            f"{fam}: attention_bias / mlp_bias are fixed by the architecture"
        )
    if fam == "qwen3" and config.mlp_bias:
        raise UnsupportedModelError("qwen3 has no mlp_bias")
    if config.layer_types is not None:
        if fam not in ("qwen2", "qwen3"):
            raise UnsupportedModelError(f"{fam}: per-layer attention types are not supported")
        if len(config.layer_types) != config.num_hidden_layers or set(config.layer_types) - set(
            LAYER_TYPES
        ):
            raise ValueError(
                f"layer_types must list {config.num_hidden_layers} entries from {LAYER_TYPES}, got "
                f"{config.layer_types}"
            )


def layer_window(config: ModelConfig, i: int) -> int | None:
    """Sliding window of layer i: Mistral windows every layer, Qwen2/3 the layers marked sliding."""
    if config.sliding_window is None:
        return None
    if config.layer_types is None or config.layer_types[i] == "sliding_attention":
        return config.sliding_window
    return None


class DecoderLayer(nnx.Module):
    """Pre-norm block: x + self_attn(input_layernorm(x)); x + mlp(post_attention_layernorm(x))."""

    def __init__(self, config: ModelConfig, index: int, *, rngs: nnx.Rngs):
        dtype, pdtype = dtype_of(config.dtype), dtype_of(config.param_dtype)
        fam = config.family
        norm = dict(eps=config.rms_norm_eps, dtype=dtype, param_dtype=pdtype)
        self.input_layernorm = RMSNorm(config.hidden_size, **norm)
        self.self_attn = Attention(
            config.hidden_size,
            config.num_attention_heads,
            config.num_key_value_heads,
            config.resolved_head_dim,
            qkv_bias=fam == "qwen2" or config.attention_bias,
            out_bias=fam != "qwen2" and config.attention_bias,
            qk_norm=fam == "qwen3",
            norm_eps=config.rms_norm_eps,
            sliding_window=layer_window(config, index),
            dtype=dtype,
            param_dtype=pdtype,
            rngs=rngs,
        )
        self.post_attention_layernorm = RMSNorm(config.hidden_size, **norm)
        self.mlp = GatedMLP(
            config.hidden_size,
            config.intermediate_size,
            act=config.hidden_act,
            bias=config.mlp_bias,
            dtype=dtype,
            param_dtype=pdtype,
            rngs=rngs,
        )

    def __call__(
        self, x: jax.Array, cos: jax.Array, sin: jax.Array, padding_mask: jax.Array | None
    ) -> jax.Array:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, padding_mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class DecoderLM(LanguageModel):
    """Llama / Mistral / Qwen2 / Qwen3 causal LM. Parameters: `embed_tokens` [vocab, embed],
    `layers[i]` (see `DecoderLayer`), `norm.weight` [embed], `lm_head` [vocab, embed] when untied.
    """

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        check_config(config)
        self.config = config
        pdtype = dtype_of(config.param_dtype)
        self.dtype = dtype_of(config.dtype)
        shape = (config.vocab_size, config.hidden_size)
        self.embed_tokens = param(normal_init(rngs, shape, pdtype), ("vocab", "embed"))
        self.layers = nnx.List(
            [DecoderLayer(config, i, rngs=rngs) for i in range(config.num_hidden_layers)]
        )
        self.norm = RMSNorm(
            config.hidden_size, eps=config.rms_norm_eps, dtype=self.dtype, param_dtype=pdtype
        )
        self.lm_head = (
            None
            if config.tie_word_embeddings
            else param(normal_init(rngs, shape, pdtype), ("vocab", "embed"))
        )

    def embed(self, input_ids: jax.Array, input_embeddings: jax.Array | None = None) -> jax.Array:
        table = self.embed_tokens[...] if input_embeddings is None else input_embeddings
        return jnp.take(table, input_ids, axis=0).astype(self.dtype)

    def encode(
        self,
        inputs_embeds: jax.Array,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        output_hidden_states: bool = False,
    ) -> tuple[jax.Array, tuple[jax.Array, ...] | None]:
        cfg = self.config
        batch, seq, _ = inputs_embeds.shape
        if position_ids is None:
            position_ids = position_ids_from_mask(attention_mask, batch, seq)
        cos, sin = rotary_cos_sin(
            position_ids,
            cfg.resolved_head_dim,
            cfg.rope_theta,
            cfg.rope_scaling,
            cfg.max_position_embeddings,
        )
        h = inputs_embeds.astype(self.dtype)
        states = [h]
        for layer in self.layers:
            h = layer(h, cos, sin, attention_mask)
            states.append(h)
        h = self.norm(h)
        if not output_hidden_states:
            return h, None
        states[-1] = h
        return h, tuple(states)

    def logits_from_hidden(
        self,
        hidden: jax.Array,
        output_embeddings: jax.Array | None = None,
        output_bias: jax.Array | None = None,
    ) -> jax.Array:
        table = self.get_output_embeddings() if output_embeddings is None else output_embeddings
        logits = jnp.einsum("bse,ve->bsv", hidden.astype(self.dtype), table.astype(self.dtype))
        return logits if output_bias is None else logits + output_bias.astype(logits.dtype)

    def get_input_embeddings(self) -> jax.Array:
        return self.embed_tokens[...]

    def set_input_embeddings(self, table: jax.Array) -> None:
        if table.ndim != 2 or table.shape[1] != self.config.hidden_size:
            raise ValueError(
                f"input embeddings must be [vocab, {self.config.hidden_size}], got {table.shape}"
            )
        self.embed_tokens = param(
            jnp.asarray(table, self.embed_tokens[...].dtype), ("vocab", "embed")
        )

    def get_output_embeddings(self) -> jax.Array:
        return self.embed_tokens[...] if self.lm_head is None else self.lm_head[...]

    def set_output_embeddings(self, table: jax.Array) -> None:
        if self.lm_head is None:
            if table is self.embed_tokens[...] or np.array_equal(
                np.asarray(table), np.asarray(self.embed_tokens[...])
            ):
                return
            raise ValueError(
                "embeddings are tied: set the input embeddings (or untie the model) instead"
            )
        if table.ndim != 2 or table.shape[1] != self.config.hidden_size:
            raise ValueError(
                f"output embeddings must be [vocab, {self.config.hidden_size}], got {table.shape}"
            )
        self.lm_head = param(jnp.asarray(table, self.lm_head[...].dtype), ("vocab", "embed"))


MODEL_CLASS = DecoderLM


# --- checkpoint names
# ------------------------------------------------------------------------------


def weight_rules(config: ModelConfig) -> list[WeightRule]:
    """HF safetensors names ↔ `DecoderLM` parameter paths (with layout changes for attention)."""
    e, d = config.hidden_size, config.resolved_head_dim
    h, k = config.num_attention_heads, config.num_key_value_heads

    def in_proj(
        heads: int,
    ) -> tuple[Any, Any]:  # HF [heads * head_dim, embed] ↔ [embed, heads, head_dim]
        return (
            lambda w: np.ascontiguousarray(w.reshape(heads, d, e).transpose(2, 0, 1)),
            lambda w: np.ascontiguousarray(w.transpose(1, 2, 0).reshape(heads * d, e)),
        )

    def in_bias(heads: int) -> tuple[Any, Any]:
        return (lambda b: b.reshape(heads, d), lambda b: b.reshape(heads * d))

    out_proj = (  # HF [embed, heads * head_dim] ↔ [heads, head_dim, embed]
        lambda w: np.ascontiguousarray(w.reshape(e, h, d).transpose(1, 2, 0)),
        lambda w: np.ascontiguousarray(w.transpose(2, 0, 1).reshape(e, h * d)),
    )
    L = r"model\.layers\.(\d+)\."
    T = "layers.{0}."
    rules = [
        WeightRule(r"model\.embed_tokens\.weight", "embed_tokens"),
        WeightRule(r"model\.norm\.weight", "norm.weight"),
        WeightRule(L + r"input_layernorm\.weight", T + "input_layernorm.weight"),
        WeightRule(L + r"post_attention_layernorm\.weight", T + "post_attention_layernorm.weight"),
        WeightRule(L + r"self_attn\.q_proj\.weight", T + "self_attn.q_proj", *in_proj(h)),
        WeightRule(L + r"self_attn\.k_proj\.weight", T + "self_attn.k_proj", *in_proj(k)),
        WeightRule(L + r"self_attn\.v_proj\.weight", T + "self_attn.v_proj", *in_proj(k)),
        WeightRule(L + r"self_attn\.o_proj\.weight", T + "self_attn.o_proj", *out_proj),
        WeightRule(L + r"mlp\.gate_proj\.weight", T + "mlp.gate_proj", transpose, transpose),
        WeightRule(L + r"mlp\.up_proj\.weight", T + "mlp.up_proj", transpose, transpose),
        WeightRule(L + r"mlp\.down_proj\.weight", T + "mlp.down_proj", transpose, transpose),
    ]
    if config.family == "qwen2" or config.attention_bias:
        rules += [
            WeightRule(L + r"self_attn\.q_proj\.bias", T + "self_attn.q_bias", *in_bias(h)),
            WeightRule(L + r"self_attn\.k_proj\.bias", T + "self_attn.k_bias", *in_bias(k)),
            WeightRule(L + r"self_attn\.v_proj\.bias", T + "self_attn.v_bias", *in_bias(k)),
        ]
    if config.family != "qwen2" and config.attention_bias:
        rules.append(WeightRule(L + r"self_attn\.o_proj\.bias", T + "self_attn.o_bias"))
    if config.family == "qwen3":
        rules += [
            WeightRule(L + r"self_attn\.q_norm\.weight", T + "self_attn.q_norm.weight"),
            WeightRule(L + r"self_attn\.k_norm\.weight", T + "self_attn.k_norm.weight"),
        ]
    if config.mlp_bias:
        rules += [
            WeightRule(L + r"mlp\.gate_proj\.bias", T + "mlp.gate_bias"),
            WeightRule(L + r"mlp\.up_proj\.bias", T + "mlp.up_bias"),
            WeightRule(L + r"mlp\.down_proj\.bias", T + "mlp.down_bias"),
        ]
    if not config.tie_word_embeddings:
        rules.append(WeightRule(r"lm_head\.weight", "lm_head"))
    return rules


def ignored_tensors(config: ModelConfig) -> tuple[str, ...]:
    """HF tensors dropped on load: rotary buffers of old checkpoints, and the head copy of tied
    models."""
    ignored = (
        r"model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq",
        r"model\.rotary_emb\.inv_freq",
    )
    return ignored + ((r"lm_head\.weight",) if config.tie_word_embeddings else ())


# --- config.json translation
# -----------------------------------------------------------------------

# HF config-class defaults for keys a config.json may leave out.
_DEFAULT_MAX_POS = {"llama": 2048, "mistral": 4096 * 32, "qwen2": 32768, "qwen3": 32768}
_DEFAULT_TOKENS = {"llama": (1, 2), "mistral": (1, 2), "qwen2": (None, None), "qwen3": (None, None)}
_ROPE_KEYS = {
    "rope_type", "type", "rope_theta", "factor", "original_max_position_embeddings", "low_freq_factor",
    "high_freq_factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "truncate", "attention_factor",
    "short_factor", "long_factor", "partial_rotary_factor",
}  # fmt: skip
# Keys this module reads or regenerates; everything else passes through `ModelConfig.extra`.
_CONSUMED = {
    "model_type", "architectures", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "max_position_embeddings",
    "rms_norm_eps", "rope_theta", "rope_scaling", "rope_parameters", "tie_word_embeddings", "attention_bias",
    "mlp_bias", "sliding_window", "use_sliding_window", "max_window_layers", "layer_types", "pad_token_id",
    "bos_token_id", "eos_token_id", "partial_rotary_factor",
}  # fmt: skip
# Options that would change the computation and that this architecture does not have.
_FOREIGN = (
    "attn_logit_softcapping",
    "final_logit_softcapping",
    "query_pre_attn_scalar",
    "use_qk_norm",
    "qk_layernorm",
)


def _rope_from_hf(
    hf: dict[str, Any], family: str, max_pos: int
) -> tuple[float, RopeScaling | None]:
    rp = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    if not isinstance(rp, dict):
        raise UnsupportedModelError(f"{family}: rope parameters must be a mapping, got {rp!r}")
    if any(isinstance(v, dict) for v in rp.values()):
        raise UnsupportedModelError(
            f"{family}: per-layer-type rope parameters are not supported: {sorted(rp)}"
        )
    unknown = set(rp) - _ROPE_KEYS
    if unknown:
        raise UnsupportedModelError(f"{family}: unsupported rope parameter(s) {sorted(unknown)}")
    partial = rp.get("partial_rotary_factor", hf.get("partial_rotary_factor", 1.0))
    if partial not in (None, 1, 1.0):
        raise UnsupportedModelError(f"{family}: partial_rotary_factor={partial} is not supported")
    theta = float(rp.get("rope_theta", hf.get("rope_theta", 10000.0)))
    kind = rp.get("rope_type", rp.get("type", "default"))
    if kind == "default":
        return theta, None

    def opt(key: str, cast: Any = float) -> Any:
        value = rp.get(key)
        return None if value is None else cast(value)

    orig = hf.get("original_max_position_embeddings", rp.get("original_max_position_embeddings"))
    if orig is None and kind in ("llama3", "yarn", "longrope"):
        orig = max_pos  # HF standardisation default
    scaling = RopeScaling(
        rope_type=kind,
        factor=opt("factor") if kind in ("yarn", "longrope") else float(rp.get("factor", 1.0)),
        original_max_position_embeddings=None if orig is None else int(orig),
        low_freq_factor=opt("low_freq_factor"),
        high_freq_factor=opt("high_freq_factor"),
        beta_fast=opt("beta_fast"),
        beta_slow=opt("beta_slow"),
        mscale=opt("mscale"),
        mscale_all_dim=opt("mscale_all_dim"),
        truncate=opt("truncate", bool),
        attention_factor=opt("attention_factor"),
        short_factor=opt("short_factor", lambda v: tuple(float(x) for x in v)),
        long_factor=opt("long_factor", lambda v: tuple(float(x) for x in v)),
    )
    return theta, scaling


def _rope_to_hf(config: ModelConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"rope_type": "default", "rope_theta": config.rope_theta}
    s = config.rope_scaling
    if s is None or s.rope_type == "default":
        return out
    out["rope_type"] = s.rope_type
    for key in (
        "factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor", "beta_fast",
        "beta_slow", "mscale", "mscale_all_dim", "truncate", "attention_factor",
    ):  # fmt: skip
        value = getattr(s, key)
        if value is not None:
            out[key] = value
    for key in ("short_factor", "long_factor"):
        if getattr(s, key) is not None:
            out[key] = list(getattr(s, key))
    return out


def from_hf_config(hf: dict[str, Any]) -> ModelConfig:
    """HF config.json (old `rope_theta`/`rope_scaling` or new `rope_parameters` style) →
    `ModelConfig`."""
    family = hf.get("model_type")
    if family not in FAMILIES:
        raise UnsupportedModelError(f"model_type {family!r} is not a decoder family {FAMILIES}")
    for key in _FOREIGN:
        if hf.get(key) not in (None, False):
            raise UnsupportedModelError(
                f"{family}: config option {key}={hf[key]!r} is not supported"
            )
    heads = int(hf["num_attention_heads"])
    hidden = int(hf["hidden_size"])
    layers = int(hf["num_hidden_layers"])
    head_dim = hf.get("head_dim", 128 if family == "qwen3" else None)
    if head_dim is not None and int(head_dim) == hidden // heads:
        head_dim = None  # canonical form: derived
    max_pos = int(hf.get("max_position_embeddings", _DEFAULT_MAX_POS[family]))
    theta, scaling = _rope_from_hf(hf, family, max_pos)

    sliding_window, layer_types = None, None
    if family == "mistral":
        sliding_window = hf.get("sliding_window")
    elif (
        family in ("qwen2", "qwen3")
        and hf.get("use_sliding_window", False)
        and hf.get("sliding_window")
    ):
        sliding_window = int(hf["sliding_window"])
        max_window_layers = int(hf.get("max_window_layers", 28))
        types = hf.get("layer_types") or [
            "sliding_attention" if i >= max_window_layers else "full_attention"
            for i in range(layers)
        ]
        layer_types = tuple(types)
        if "sliding_attention" not in layer_types:
            sliding_window, layer_types = None, None
        elif "full_attention" not in layer_types:
            layer_types = None  # canonical form: every layer slides

    bos_default, eos_default = _DEFAULT_TOKENS[family]
    eos = hf.get("eos_token_id", eos_default)
    extra = {k: v for k, v in hf.items() if k not in _CONSUMED}
    if isinstance(eos, (list, tuple)):
        extra["eos_token_id"] = list(eos)  # HF allows several; ModelConfig keeps the first
        eos = eos[0] if eos else None
    cfg = ModelConfig(
        family=family,
        vocab_size=int(hf["vocab_size"]),
        hidden_size=hidden,
        intermediate_size=int(hf["intermediate_size"]),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=int(hf.get("num_key_value_heads") or heads),
        head_dim=None if head_dim is None else int(head_dim),
        hidden_act=hf.get("hidden_act", "silu"),
        max_position_embeddings=max_pos,
        rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
        rope_theta=theta,
        rope_scaling=scaling,
        tie_word_embeddings=bool(hf.get("tie_word_embeddings", False)),
        attention_bias=bool(hf.get("attention_bias", False))
        if family in ("llama", "qwen3")
        else False,
        mlp_bias=bool(hf.get("mlp_bias", False)) if family == "llama" else False,
        sliding_window=None if sliding_window is None else int(sliding_window),
        layer_types=layer_types,
        pad_token_id=hf.get("pad_token_id"),
        bos_token_id=hf.get("bos_token_id", bos_default),
        eos_token_id=eos,
        extra=extra,
    )
    check_config(cfg)
    return cfg


def to_hf_config(config: ModelConfig) -> dict[str, Any]:
    """`ModelConfig` → config.json dict (transformers 5 `rope_parameters` style) that AutoConfig
    loads."""
    check_config(config)
    fam = config.family
    out: dict[str, Any] = {
        "model_type": fam,
        "architectures": [HF_ARCHITECTURES[fam]],
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "head_dim": config.resolved_head_dim,
        "hidden_act": config.hidden_act,
        "max_position_embeddings": config.max_position_embeddings,
        "rms_norm_eps": config.rms_norm_eps,
        "rope_parameters": _rope_to_hf(config),
        "rope_theta": config.rope_theta,  # transformers 4.x reads these two, 5.x `rope_parameters`
        "rope_scaling": None if config.rope_scaling is None else _rope_to_hf(config),
        "tie_word_embeddings": config.tie_word_embeddings,
        "pad_token_id": config.pad_token_id,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
    }
    if fam in ("llama", "qwen3"):
        out["attention_bias"] = config.attention_bias
    if fam == "llama":
        out["mlp_bias"] = config.mlp_bias
    if fam == "mistral":
        out["sliding_window"] = config.sliding_window
    if fam in ("qwen2", "qwen3"):
        out["use_sliding_window"] = config.sliding_window is not None
        out["sliding_window"] = config.sliding_window
        out["max_window_layers"] = config.num_hidden_layers
        types = config.layer_types or tuple(
            "sliding_attention" if layer_window(config, i) else "full_attention"
            for i in range(config.num_hidden_layers)
        )
        out["layer_types"] = list(types)
    for key, value in config.extra.items():
        if key == "eos_token_id":  # the full list, unless the config's eos was changed since
            if isinstance(value, list) and value and value[0] == config.eos_token_id:
                out[key] = value
            continue
        out.setdefault(key, value)
    return out


def tiny_config(**overrides: Any) -> ModelConfig:
    """A 2-layer, 64-wide model with GQA (4 heads / 2 kv heads), vocab 256; `family=` picks the
    variant."""
    base = dict(
        family="llama",
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        tie_word_embeddings=True,
    )
    base.update(overrides)
    cfg = ModelConfig(**base)
    check_config(cfg)
    return cfg
