"""Decoder-only causal LMs: Llama (incl. SmolLM2), Mistral, Qwen2 (q/k/v bias) and Qwen3 (per-head q/k
norm).

One pre-norm block for all four: x + attn(norm(x)), then x + mlp(norm(x)); final RMSNorm; LM head
tied to the embeddings or separate. Hidden states follow HF: embeddings first, then every layer's
output, the last one after the final norm. HF config.json / tensor names: `llama_hf.py`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.api import LanguageModel, dtype_of, param
from zett.models.config import DECODER_FAMILIES, ModelConfig, UnsupportedModelError
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
