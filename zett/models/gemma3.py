"""Gemma 3 text decoder (HF `Gemma3ForCausalLM`) in Flax NNX, with config and weight translation."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.api import LanguageModel, param
from zett.models.config import HF_ARCHITECTURES, ModelConfig, RopeScaling, UnsupportedModelError
from zett.models.layers import (
    ACTIVATIONS,
    Attention,
    GatedMLP,
    RMSNorm,
    normal_init,
    position_ids_from_mask,
)
from zett.models.rope import check_rope_scaling, rotary_cos_sin
from zett.models.weights import WeightRule, transpose

FAMILIES = ("gemma3_text",)
SLIDING, FULL = "sliding_attention", "full_attention"

# Gemma3TextConfig defaults (transformers 5.x), used for keys a config.json leaves out.
HF_DEFAULTS: dict[str, Any] = {
    "vocab_size": 262_208,
    "hidden_size": 2304,
    "intermediate_size": 9216,
    "num_hidden_layers": 26,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "head_dim": 256,
    "hidden_activation": "gelu_pytorch_tanh",
    "max_position_embeddings": 131_072,
    "rms_norm_eps": 1e-6,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "bos_token_id": 2,
    "tie_word_embeddings": True,
    "attention_bias": False,
    "query_pre_attn_scalar": 256,
    "sliding_window": 4096,
    "final_logit_softcapping": None,
    "attn_logit_softcapping": None,
    "rope_theta": 1_000_000.0,
    "rope_local_base_freq": 10_000.0,
    "sliding_window_pattern": 6,
}
# HF keys that zett interprets (or that are HF bookkeeping and carry no architecture); the rest of
# a config.json passes through `ModelConfig.extra` so an export writes it back unchanged.
_CONSUMED = {
    *HF_DEFAULTS,
    "model_type", "architectures", "transformers_version", "_name_or_path", "name_or_path",
    "rope_parameters", "rope_scaling", "layer_types", "_sliding_window_pattern",
    "use_bidirectional_attention", "torch_dtype", "dtype", "output_hidden_states", "output_attentions",
    "return_dict", "id2label", "label2id", "problem_type", "chunk_size_feed_forward", "is_encoder_decoder",
}  # fmt: skip
_RAISE_IF_TRUE = {
    "attn_logit_softcapping": "attention logit softcapping (which transformers' Gemma3 ignores)",
    "use_bidirectional_attention": "bidirectional (EmbeddingGemma-style) attention",
    "attention_bias": "attention biases",
}


# --- config translation ------------------------------------------------------------------------


def default_layer_types(num_layers: int, pattern: int = 6) -> tuple[str, ...]:
    """HF's legacy `sliding_window_pattern`: every `pattern`-th layer is global, the others local."""
    return tuple(SLIDING if (i + 1) % pattern else FULL for i in range(num_layers))


def _rope_from_hf(hf: dict[str, Any]) -> tuple[float, float, RopeScaling | None]:
    """(global theta, local theta, global scaling) from `rope_parameters` (5.x) or the legacy keys."""
    theta = float(hf.get("rope_theta", HF_DEFAULTS["rope_theta"]))
    local_theta = float(hf.get("rope_local_base_freq", HF_DEFAULTS["rope_local_base_freq"]))
    rp = hf.get("rope_parameters")
    if rp and (FULL in rp or SLIDING in rp):
        full, local = dict(rp.get(FULL) or {}), dict(rp.get(SLIDING) or {})
    else:  # a flat dict (or legacy `rope_scaling`) describes the global layers only
        full, local = dict(rp or hf.get("rope_scaling") or {}), {}
    theta = float(full.pop("rope_theta", theta))
    local_theta = float(local.pop("rope_theta", local_theta))
    if local.get("rope_type", local.get("type", "default")) != "default":
        raise UnsupportedModelError(
            f"gemma3: rope scaling on sliding-window layers is not supported: {local}"
        )
    kind = full.pop("rope_type", full.pop("type", "default"))
    if kind == "default":
        return theta, local_theta, None
    fields = set(RopeScaling.__dataclass_fields__)
    unknown = set(full) - fields
    if unknown:
        raise UnsupportedModelError(f"gemma3: unsupported rope_parameters keys {sorted(unknown)}")
    for k in ("short_factor", "long_factor"):
        if full.get(k) is not None:
            full[k] = tuple(full[k])
    scaling = RopeScaling(rope_type=kind, **full)
    return theta, local_theta, scaling


def from_hf_config(hf: dict[str, Any]) -> ModelConfig:
    """HF `Gemma3TextConfig` (or the text part of a multimodal `gemma3` config) → `ModelConfig`."""
    if hf.get("model_type") == "gemma3":
        hf = dict(hf.get("text_config") or {})
        hf.setdefault("model_type", "gemma3_text")
    if hf.get("model_type", "gemma3_text") != "gemma3_text":
        raise UnsupportedModelError(
            f"gemma3: expected model_type 'gemma3_text', got {hf.get('model_type')!r}"
        )
    for key, what in _RAISE_IF_TRUE.items():
        if hf.get(key):
            raise UnsupportedModelError(
                f"gemma3: {what} ({key}={hf[key]!r}) is not implemented by zett"
            )
    get = lambda k: hf.get(k, HF_DEFAULTS.get(k))  # noqa: E731
    # transformers' Gemma3 reads only `hidden_activation`; a legacy `hidden_act` passes through
    # untouched
    act = hf.get("hidden_activation") or HF_DEFAULTS["hidden_activation"]
    if act not in ACTIVATIONS:
        raise UnsupportedModelError(
            f"gemma3: activation {act!r} not supported; zett has {sorted(ACTIVATIONS)}"
        )
    n_layers = int(get("num_hidden_layers"))
    layer_types = hf.get("layer_types")
    if layer_types is None:
        pattern = hf.get("sliding_window_pattern", hf.get("_sliding_window_pattern", 6))
        layer_types = default_layer_types(n_layers, int(pattern))
    layer_types = tuple(layer_types)
    bad = set(layer_types) - {SLIDING, FULL}
    if bad or len(layer_types) != n_layers:
        raise UnsupportedModelError(
            f"gemma3: layer_types must list {n_layers} of {SLIDING!r}/{FULL!r}, got "
            f"{list(layer_types)}"
        )
    theta, local_theta, scaling = _rope_from_hf(hf)
    head_dim = int(get("head_dim"))
    check_rope_scaling(scaling, head_dim)
    extra = {k: v for k, v in hf.items() if k not in _CONSUMED}
    eos = get("eos_token_id")
    if isinstance(
        eos, (list, tuple)
    ):  # several stop ids: keep the list for export, the first as the id
        extra["eos_token_id"] = list(eos)
        eos = eos[0] if eos else None
    return ModelConfig(
        family="gemma3_text",
        vocab_size=int(get("vocab_size")),
        hidden_size=int(get("hidden_size")),
        intermediate_size=int(get("intermediate_size")),
        num_hidden_layers=n_layers,
        num_attention_heads=int(get("num_attention_heads")),
        num_key_value_heads=int(get("num_key_value_heads")),
        head_dim=head_dim,
        hidden_act=act,
        max_position_embeddings=int(get("max_position_embeddings")),
        rms_norm_eps=float(get("rms_norm_eps")),
        rope_theta=theta,
        rope_scaling=scaling,
        tie_word_embeddings=bool(get("tie_word_embeddings")),
        sliding_window=None if get("sliding_window") is None else int(get("sliding_window")),
        layer_types=layer_types,
        rope_local_base_freq=local_theta,
        query_pre_attn_scalar=float(get("query_pre_attn_scalar")),
        final_logit_softcapping=_opt_float(get("final_logit_softcapping")),
        pad_token_id=get("pad_token_id"),
        bos_token_id=get("bos_token_id"),
        eos_token_id=eos,
        extra=extra,
    )


def _opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


def _num(x: float) -> int | float:
    """Writes integral floats as ints (HF configs say `256`, not `256.0`)."""
    return int(x) if float(x).is_integer() else float(x)


def to_hf_config(config: ModelConfig) -> dict[str, Any]:
    """`ModelConfig` → a `config.json` dict that `transformers.AutoConfig` loads as
    `Gemma3TextConfig`."""
    _check(config)
    full: dict[str, Any] = {"rope_type": "default", "rope_theta": config.rope_theta}
    if config.rope_scaling is not None:
        s = {k: v for k, v in config.to_dict()["rope_scaling"].items() if v is not None}
        full.update(s)
        full["rope_theta"] = config.rope_theta
    out: dict[str, Any] = {
        "architectures": [HF_ARCHITECTURES["gemma3_text"]],
        "model_type": "gemma3_text",
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "head_dim": config.resolved_head_dim,
        "hidden_activation": config.hidden_act,
        "max_position_embeddings": config.max_position_embeddings,
        "rms_norm_eps": config.rms_norm_eps,
        "tie_word_embeddings": config.tie_word_embeddings,
        "attention_bias": False,
        "query_pre_attn_scalar": _num(_query_scalar(config)),
        "sliding_window": config.sliding_window,
        "layer_types": list(layer_types_of(config)),
        "attn_logit_softcapping": None,
        "final_logit_softcapping": config.final_logit_softcapping,
        "use_bidirectional_attention": False,
        "rope_parameters": {
            FULL: full,
            SLIDING: {"rope_type": "default", "rope_theta": config.rope_local_base_freq},
        },
        # transformers 4.x reads these instead of rope_parameters
        "rope_theta": config.rope_theta,
        "rope_local_base_freq": config.rope_local_base_freq,
        "pad_token_id": config.pad_token_id,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
    }
    out.update(config.extra)
    return out


def layer_types_of(config: ModelConfig) -> tuple[str, ...]:
    return config.layer_types or default_layer_types(config.num_hidden_layers)


def _query_scalar(config: ModelConfig) -> float:
    return (
        config.query_pre_attn_scalar
        if config.query_pre_attn_scalar is not None
        else config.resolved_head_dim
    )


def _check(config: ModelConfig) -> None:
    if config.family not in FAMILIES:
        raise UnsupportedModelError(
            f"gemma3 module handles {FAMILIES}, got family {config.family!r}"
        )
    types = layer_types_of(config)
    if len(types) != config.num_hidden_layers or set(types) - {SLIDING, FULL}:
        raise ValueError(
            f"gemma3: layer_types {types} do not give one of {SLIDING}/{FULL} per layer"
        )
    if SLIDING in types and config.sliding_window is None:
        raise ValueError("gemma3: sliding-window layers need config.sliding_window")
    if config.hidden_act not in ACTIVATIONS:
        raise UnsupportedModelError(f"gemma3: activation {config.hidden_act!r} not supported")
    if config.attn_logit_softcapping is not None:
        raise UnsupportedModelError(
            "gemma3: attn_logit_softcapping is not supported (transformers' Gemma3 never applies "
            "it)"
        )
    if config.attention_bias or config.mlp_bias:
        raise UnsupportedModelError("gemma3: attention/MLP biases are not implemented")
    check_rope_scaling(config.rope_scaling, config.resolved_head_dim)


def tiny_config(**overrides: Any) -> ModelConfig:
    """4 layers (local, local, global, local), window 8, 4 query / 2 KV heads, head_dim 16, so both
    layer kinds and the window matter on sequences of a few dozen tokens."""
    n = overrides.get("num_hidden_layers", 4)
    base = ModelConfig(
        family="gemma3_text",
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=n,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        hidden_act="gelu_pytorch_tanh",
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        rope_theta=1_000_000.0,
        rope_local_base_freq=10_000.0,
        tie_word_embeddings=True,
        sliding_window=8,
        layer_types=default_layer_types(n, 3),
        query_pre_attn_scalar=16.0,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    return base.replace(**overrides)


# --- model -----------------------------------------------------------------------------------


class Embedding(nnx.Module):
    """The token table [vocab, embed] (path `embed_tokens.embedding`)."""

    def __init__(self, vocab: int, embed: int, param_dtype: jnp.dtype, *, rngs: nnx.Rngs):
        self.embedding = param(normal_init(rngs, (vocab, embed), param_dtype), ("vocab", "embed"))


class DecoderLayer(nnx.Module):
    """Sandwich norms: x + post_attn(attn(in(x))), then x + post_ff(mlp(pre_ff(x)))."""

    def __init__(self, config: ModelConfig, layer_type: str, *, rngs: nnx.Rngs):
        c = config
        dt, pd = jnp.dtype(c.dtype), jnp.dtype(c.param_dtype)
        self.layer_type = layer_type
        self.self_attn = Attention(
            c.hidden_size,
            c.num_attention_heads,
            c.num_key_value_heads,
            c.resolved_head_dim,
            qk_norm=True,
            norm_eps=c.rms_norm_eps,
            norm_offset=1.0,
            scale=_query_scalar(c) ** -0.5,
            sliding_window=c.sliding_window if layer_type == SLIDING else None,
            dtype=dt,
            param_dtype=pd,
            rngs=rngs,
        )
        self.mlp = GatedMLP(
            c.hidden_size,
            c.intermediate_size,
            act=c.hidden_act,
            dtype=dt,
            param_dtype=pd,
            rngs=rngs,
        )
        norm = partial(
            RMSNorm, c.hidden_size, eps=c.rms_norm_eps, offset=1.0, dtype=dt, param_dtype=pd
        )
        self.input_layernorm = norm()
        self.post_attention_layernorm = norm()
        self.pre_feedforward_layernorm = norm()
        self.post_feedforward_layernorm = norm()

    def __call__(
        self, x: jax.Array, cos: jax.Array, sin: jax.Array, padding_mask: jax.Array
    ) -> jax.Array:
        x = x + self.post_attention_layernorm(
            self.self_attn(self.input_layernorm(x), cos, sin, padding_mask)
        )
        return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))


class Gemma3(LanguageModel):
    """Gemma 3 causal LM; parameter paths mirror HF names (`layers.3.self_attn.q_proj`, `norm.weight`).

    Numerics follow `transformers.models.gemma3.modeling_gemma3` so logits agree with PyTorch:
      - RMSNorm scales by `(1 + w)` and is computed in float32, cast back afterwards. Norm weights are
        stored zero-centred, exactly as HF safetensors hold them (`w`, not `1 + w`), so weight rules are
        plain copies; the GGUF reader subtracts the +1 that GGUF files bake in.
      - `embed` multiplies by sqrt(hidden) rounded to the *embedding table's* dtype (HF: 25.298 → 25.25 in
        bfloat16 for d=640), so `embed` returns exactly HF's `inputs_embeds`.
      - A sliding (local) layer lets query i see key j iff 0 <= i - j < sliding_window (HF:
        `kv_idx > q_idx - sliding_window`); global layers are plainly causal. Local and global layers use
        their own RoPE bases (`rope_local_base_freq` / `rope_theta`); `rope_scaling` applies to global only.
      - Attention scores are scaled by `query_pre_attn_scalar ** -0.5`; the softmax runs in float32.
        `attn_logit_softcapping` is refused: transformers' Gemma3 (5.x) reads it but never applies it
        (Gemma 3 replaced it by q/k-norm and every released config sets it to null), so a non-null
        value has no agreed meaning. `final_logit_softcapping` is applied, as HF does.
      - Position ids default to `cumsum(attention_mask) - 1` (`layers.position_ids_from_mask`), so a
        left-padded row gives the same result as the unpadded sequence (HF's forward uses `arange`
        unless `generate` passes them; pass `position_ids` explicitly to reproduce that)."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        _check(config)
        self.config = config
        c = config
        self.dtype = jnp.dtype(c.dtype)
        pd = jnp.dtype(c.param_dtype)
        self.embed_tokens = Embedding(c.vocab_size, c.hidden_size, pd, rngs=rngs)
        self.layers = nnx.List([DecoderLayer(c, t, rngs=rngs) for t in layer_types_of(c)])
        self.norm = RMSNorm(
            c.hidden_size, eps=c.rms_norm_eps, offset=1.0, dtype=self.dtype, param_dtype=pd
        )
        if not c.tie_word_embeddings:
            self.lm_head = param(
                normal_init(rngs, (c.vocab_size, c.hidden_size), pd), ("vocab", "embed")
            )

    # --- forward ---------------------------------------------------------------------------------
    def embed(self, input_ids: jax.Array, input_embeddings: jax.Array | None = None) -> jax.Array:
        """[batch, seq] → [batch, seq, embed] = table[ids] * sqrt(hidden), the scale in the table's
        dtype."""
        table = self.embed_tokens.embedding.value if input_embeddings is None else input_embeddings
        rows = jnp.take(table, input_ids, axis=0)
        scale = jnp.asarray(np.float32(math.sqrt(self.config.hidden_size))).astype(table.dtype)
        return (rows * scale).astype(self.dtype)

    def encode(
        self,
        inputs_embeds: jax.Array,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        output_hidden_states: bool = False,
    ) -> tuple[jax.Array, tuple[jax.Array, ...] | None]:
        """[batch, seq, embed] → final normed states; hidden states as HF: inputs, layers 1..N-1, final
        normed."""
        c = self.config
        b, s, _ = inputs_embeds.shape
        if position_ids is None:
            position_ids = position_ids_from_mask(attention_mask, b, s)
        # One cos/sin pair per layer kind: local layers rotate with their own base and no scaling.
        d, max_pos = c.resolved_head_dim, c.max_position_embeddings
        rope = {
            FULL: rotary_cos_sin(position_ids, d, c.rope_theta, c.rope_scaling, max_pos),
            SLIDING: rotary_cos_sin(position_ids, d, c.rope_local_base_freq, None, max_pos),
        }
        x = inputs_embeds.astype(self.dtype)
        hidden: list[jax.Array] = [x]
        for layer in self.layers:
            x = layer(x, *rope[layer.layer_type], attention_mask)
            hidden.append(x)
        x = self.norm(x)
        if not output_hidden_states:
            return x, None
        # HF reports the final *normed* state in place of the last layer's raw output.
        return x, tuple(hidden[:-1]) + (x,)

    def logits_from_hidden(
        self,
        hidden: jax.Array,
        output_embeddings: jax.Array | None = None,
        output_bias: jax.Array | None = None,
    ) -> jax.Array:
        """[batch, seq, embed] → [batch, seq, vocab]; tanh-softcapped when `final_logit_softcapping` is
        set.

        Gemma has no LM-head bias; a caller-supplied `output_bias` [vocab] is added before the
        softcap."""
        head = self.get_output_embeddings() if output_embeddings is None else output_embeddings
        logits = jnp.einsum("bse,ve->bsv", hidden.astype(self.dtype), head.astype(self.dtype))
        if output_bias is not None:
            logits = logits + output_bias.astype(logits.dtype)
        cap = self.config.final_logit_softcapping
        if cap is not None:
            logits = jnp.tanh(logits / cap) * cap
        return logits

    # --- embeddings ------------------------------------------------------------------------------
    def get_input_embeddings(self) -> jax.Array:
        return self.embed_tokens.embedding.value

    def _check_table(self, table: jax.Array) -> None:
        if table.ndim != 2 or table.shape[1] != self.config.hidden_size:
            raise ValueError(
                f"embedding table must be [vocab, {self.config.hidden_size}], got "
                f"{tuple(table.shape)}"
            )

    def set_input_embeddings(self, table: jax.Array) -> None:
        self._check_table(table)
        self.embed_tokens.embedding.value = jnp.asarray(
            table, self.embed_tokens.embedding.value.dtype
        )

    def get_output_embeddings(self) -> jax.Array:
        return (
            self.embed_tokens.embedding.value
            if self.config.tie_word_embeddings
            else self.lm_head.value
        )

    def set_output_embeddings(self, table: jax.Array) -> None:
        self._check_table(table)
        if self.config.tie_word_embeddings:
            if not np.array_equal(np.asarray(table), np.asarray(self.embed_tokens.embedding.value)):
                raise ValueError(
                    "Gemma 3 ties its LM head to the input embeddings; set_input_embeddings instead"
                )
            return
        self.lm_head.value = jnp.asarray(table, self.lm_head.value.dtype)


MODEL_CLASS = Gemma3


# --- weights
# ---------------------------------------------------------------------------------------


def ignored_tensors(config: ModelConfig) -> tuple[str, ...]:
    """A tied model's `lm_head.weight` (a torch `state_dict` lists it; `save_pretrained` drops it)
    duplicates the embedding table."""
    return (r"lm_head\.weight",) if config.tie_word_embeddings else ()


def _to_heads_in(heads: int, head_dim: int, w: np.ndarray) -> np.ndarray:
    """HF [heads * head_dim, embed] → [embed, heads, head_dim]."""
    return np.ascontiguousarray(w.T.reshape(w.shape[1], heads, head_dim))


def _from_heads_in(k: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(k.reshape(k.shape[0], -1).T)


def _to_heads_out(heads: int, head_dim: int, w: np.ndarray) -> np.ndarray:
    """HF o_proj [embed, heads * head_dim] → [heads, head_dim, embed]."""
    return np.ascontiguousarray(w.T.reshape(heads, head_dim, w.shape[0]))


def _from_heads_out(k: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(k.reshape(-1, k.shape[-1]).T)


def weight_rules(config: ModelConfig) -> list[WeightRule]:
    """HF `Gemma3ForCausalLM` safetensors names ↔ NNX paths (tied checkpoints carry no
    `lm_head.weight`)."""
    d, h, kv = config.resolved_head_dim, config.num_attention_heads, config.num_key_value_heads
    L = r"model\.layers\.(\d+)\."
    to_q, to_kv, to_o = (
        partial(_to_heads_in, h, d),
        partial(_to_heads_in, kv, d),
        partial(_to_heads_out, h, d),
    )
    rules = [
        WeightRule(r"model\.embed_tokens\.weight", "embed_tokens.embedding"),
        WeightRule(r"model\.norm\.weight", "norm.weight"),
        WeightRule(L + r"self_attn\.q_proj\.weight", "layers.{0}.self_attn.q_proj", to_q, _from_heads_in),
        WeightRule(L + r"self_attn\.k_proj\.weight", "layers.{0}.self_attn.k_proj", to_kv, _from_heads_in),
        WeightRule(L + r"self_attn\.v_proj\.weight", "layers.{0}.self_attn.v_proj", to_kv, _from_heads_in),
        WeightRule(L + r"self_attn\.o_proj\.weight", "layers.{0}.self_attn.o_proj", to_o, _from_heads_out),
        WeightRule(L + r"self_attn\.q_norm\.weight", "layers.{0}.self_attn.q_norm.weight"),
        WeightRule(L + r"self_attn\.k_norm\.weight", "layers.{0}.self_attn.k_norm.weight"),
        WeightRule(L + r"mlp\.gate_proj\.weight", "layers.{0}.mlp.gate_proj", transpose, transpose),
        WeightRule(L + r"mlp\.up_proj\.weight", "layers.{0}.mlp.up_proj", transpose, transpose),
        WeightRule(L + r"mlp\.down_proj\.weight", "layers.{0}.mlp.down_proj", transpose, transpose),
    ]  # fmt: skip
    norms = (
        "input_layernorm",
        "post_attention_layernorm",
        "pre_feedforward_layernorm",
        "post_feedforward_layernorm",
    )
    for norm in norms:
        rules.append(WeightRule(L + norm + r"\.weight", f"layers.{{0}}.{norm}.weight"))
    if not config.tie_word_embeddings:
        rules.append(WeightRule(r"lm_head\.weight", "lm_head"))
    return rules
