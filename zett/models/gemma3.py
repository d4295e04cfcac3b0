"""Gemma 3 text decoder (HF `Gemma3ForCausalLM`) in Flax NNX. HF config.json / tensor names:
`gemma3_hf.py`."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.api import LanguageModel, param
from zett.models.config import ModelConfig, UnsupportedModelError
from zett.models.layers import (
    ACTIVATIONS,
    Attention,
    GatedMLP,
    RMSNorm,
    normal_init,
    position_ids_from_mask,
)
from zett.models.rope import check_rope_scaling, rotary_cos_sin

FAMILIES = ("gemma3_text",)
SLIDING, FULL = "sliding_attention", "full_attention"

# --- config ----------------------------------------------------------------------------------


def default_layer_types(num_layers: int, pattern: int = 6) -> tuple[str, ...]:
    """HF's legacy `sliding_window_pattern`: every `pattern`-th layer is global, the others local."""
    return tuple(SLIDING if (i + 1) % pattern else FULL for i in range(num_layers))


def layer_types_of(config: ModelConfig) -> tuple[str, ...]:
    return config.layer_types or default_layer_types(config.num_hidden_layers)


def query_scalar(config: ModelConfig) -> float:
    return (
        config.query_pre_attn_scalar
        if config.query_pre_attn_scalar is not None
        else config.resolved_head_dim
    )


def check_config(config: ModelConfig) -> None:
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
            scale=query_scalar(c) ** -0.5,
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
        check_config(config)
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
