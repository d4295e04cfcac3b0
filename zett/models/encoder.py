"""BERT / RoBERTa / XLM-R encoders with their masked-LM head, numerically matching Hugging Face.
HF config.json / tensor names: `bert_hf.py`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.api import LanguageModel, param
from zett.models.config import ModelConfig, UnsupportedModelError
from zett.models.layers import ACTIVATIONS, Attention, Dense, LayerNorm

FAMILIES: tuple[str, ...] = ("bert", "roberta", "xlm-roberta")


def _normal(rngs: nnx.Rngs, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """N(0, 0.02²) as HF initialises; drawn by numpy (seeded from the key) because eager jax.random
    compiles one program per shape, which costs seconds per model on CPU."""
    key = rngs.params()
    if isinstance(key, jax.core.Tracer):  # under nnx.eval_shape / jit: stay traceable
        return (0.02 * jax.random.normal(key, shape, jnp.float32)).astype(dtype)
    seed = np.asarray(jax.random.key_data(key)).ravel()
    values = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) * 0.02
    return jnp.asarray(values, dtype=dtype)


def _layer_norm(config: ModelConfig) -> LayerNorm:
    return LayerNorm(
        config.hidden_size, eps=config.layer_norm_eps, param_dtype=jnp.dtype(config.param_dtype)
    )


def _dense(config: ModelConfig, d_in: int, d_out: int, axes: tuple, rngs: nnx.Rngs) -> Dense:
    return Dense(
        d_in, d_out, axes, init=_normal, param_dtype=jnp.dtype(config.param_dtype), rngs=rngs
    )


class EncoderEmbeddings(nnx.Module):
    """word [vocab, embed], position [max_positions, embed], token_type [type_vocab, embed],
    LayerNorm."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        e, pd = config.hidden_size, jnp.dtype(config.param_dtype)
        self.word = param(_normal(rngs, (config.vocab_size, e), pd), ("vocab", "embed"))
        self.position = param(
            _normal(rngs, (config.max_position_embeddings, e), pd), (None, "embed")
        )
        self.token_type = param(_normal(rngs, (config.type_vocab_size, e), pd), (None, "embed"))
        self.norm = _layer_norm(config)


class EncoderLayer(nnx.Module):
    """Post-LN block: x = attn_norm(x + self_attn(x)); x = mlp_norm(x + down(act(up(x))))."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        e, m = config.hidden_size, config.intermediate_size
        self.act = ACTIVATIONS[config.hidden_act]
        self.self_attn = Attention(
            e,
            config.num_attention_heads,
            config.num_attention_heads,
            config.resolved_head_dim,
            qkv_bias=True,
            out_bias=True,
            causal=False,
            init=_normal,
            dtype=jnp.dtype(config.dtype),
            param_dtype=jnp.dtype(config.param_dtype),
            rngs=rngs,
        )
        self.attn_norm = _layer_norm(config)
        self.up = _dense(config, e, m, ("embed", "mlp"), rngs)
        self.down = _dense(config, m, e, ("mlp", "embed"), rngs)
        self.mlp_norm = _layer_norm(config)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        """x [batch, seq, embed], mask [batch, seq] bool (True = token) → [batch, seq, embed]."""
        x = self.attn_norm(x + self.self_attn(x, padding_mask=mask))
        return self.mlp_norm(x + self.down(self.act(self.up(x))))


class MLMHead(nnx.Module):
    """dense [embed, embed] + act + LayerNorm, then the (tied) decoder [vocab, embed] + bias
    [vocab]."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        e, pd = config.hidden_size, jnp.dtype(config.param_dtype)
        self.dense = _dense(config, e, e, ("embed", None), rngs)
        self.norm = _layer_norm(config)
        self.bias = param(jnp.zeros((config.vocab_size,), pd), ("vocab",))
        if not config.tie_word_embeddings:
            self.decoder = param(_normal(rngs, (config.vocab_size, e), pd), ("vocab", "embed"))


class EncoderModel(LanguageModel):
    """BERT-family masked LM. Token type ids are always 0 (single-segment input, HF's default)."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        if config.family not in FAMILIES:
            raise UnsupportedModelError(f"EncoderModel handles {FAMILIES}, not {config.family!r}")
        if config.hidden_act not in ACTIVATIONS:
            raise UnsupportedModelError(
                f"hidden_act {config.hidden_act!r} not in {sorted(ACTIVATIONS)}"
            )
        self.config = config
        self.embeddings = EncoderEmbeddings(config, rngs=rngs)
        self.layers = nnx.List(
            [EncoderLayer(config, rngs=rngs) for _ in range(config.num_hidden_layers)]
        )
        if config.has_lm_head:
            self.head = MLMHead(config, rngs=rngs)
        else:
            # bare HF encoders (BertModel, ...) carry a pooler; kept so a re-saved checkpoint is
            # complete
            self.pooler = _dense(
                config, config.hidden_size, config.hidden_size, ("embed", None), rngs
            )

    # --- forward ---------------------------------------------------------------------------------
    def embed(self, input_ids: jax.Array, input_embeddings: jax.Array | None = None) -> jax.Array:
        table = self.embeddings.word[...] if input_embeddings is None else input_embeddings
        return jnp.take(table, input_ids, axis=0).astype(self.config.dtype)

    def position_ids(self, mask: jax.Array) -> jax.Array:
        """[batch, seq] bool → [batch, seq] int32: BERT counts 0..seq-1 (padding or not, as HF does);
        RoBERTa/XLM-R count real tokens from pad_token_id+1 and park padding at pad_token_id (as HF
        does from input_ids), so left and right padding give the same result as no padding."""
        b, s = mask.shape
        if self.config.family == "bert":
            return jnp.broadcast_to(jnp.arange(s, dtype=jnp.int32), (b, s))
        m = mask.astype(jnp.int32)
        return jnp.cumsum(m, axis=1) * m + (self.config.position_offset - 1)

    def encode(
        self,
        inputs_embeds: jax.Array,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        output_hidden_states: bool = False,
    ) -> tuple[jax.Array, tuple[jax.Array, ...] | None]:
        c = self.config
        b, s, _ = inputs_embeds.shape
        if position_ids is None and s + c.position_offset > c.max_position_embeddings:
            raise ValueError(
                f"sequence length {s} exceeds the {c.max_position_embeddings - c.position_offset} "
                f"positions this {c.family} model has"
            )
        mask = jnp.ones((b, s), bool) if attention_mask is None else attention_mask.astype(bool)
        if position_ids is None:
            position_ids = self.position_ids(mask)
        dt = jnp.dtype(c.dtype)
        emb = self.embeddings
        x = (
            inputs_embeds.astype(dt)
            + jnp.take(emb.position[...], position_ids, axis=0).astype(dt)
            + emb.token_type[...][0].astype(dt)
        )
        x = emb.norm(x)
        hidden = [x]
        for layer in self.layers:
            x = layer(x, mask)
            hidden.append(x)
        return x, (tuple(hidden) if output_hidden_states else None)

    def logits_from_hidden(
        self,
        hidden: jax.Array,
        output_embeddings: jax.Array | None = None,
        output_bias: jax.Array | None = None,
    ) -> jax.Array:
        head = self._head()
        dt = hidden.dtype
        # RoBERTa's LM head hard-codes exact GELU; BERT's follows hidden_act
        act = ACTIVATIONS["gelu" if self.config.family != "bert" else self.config.hidden_act]
        h = head.norm(act(head.dense(hidden)))
        table = self.get_output_embeddings() if output_embeddings is None else output_embeddings
        bias = head.bias[...] if output_bias is None else output_bias
        logits = jnp.einsum("bse,ve->bsv", h, table.astype(dt), preferred_element_type=jnp.float32)
        return (logits + bias.astype(jnp.float32)).astype(dt)

    def pool(self, hidden: jax.Array) -> jax.Array:
        """HF `pooler_output` of a bare encoder: tanh(dense(first token)), [batch, seq, embed] →
        [batch, embed]."""
        if self.config.has_lm_head:
            raise ValueError(
                "masked-LM checkpoints carry no pooler; only bare encoders (BertModel, ...) do"
            )
        return jnp.tanh(self.pooler(hidden[:, 0]))

    # --- embeddings and head ---------------------------------------------------------------------
    def _head(self) -> MLMHead:
        if not self.config.has_lm_head:
            raise ValueError(
                f"this {self.config.family} checkpoint has no masked-LM head (a bare encoder such "
                f"as HF "
                "BertModel), so logits are unavailable; use model.encode(model.embed(ids), mask) "
                "for "
                "hidden states"
            )
        return self.head

    def get_input_embeddings(self) -> jax.Array:
        return self.embeddings.word[...]

    def set_input_embeddings(self, table: jax.Array) -> None:
        if table.ndim != 2 or table.shape[1] != self.config.hidden_size:
            raise ValueError(
                f"input embeddings must be [vocab, {self.config.hidden_size}], got {table.shape}"
            )
        self.embeddings.word.set_value(jnp.asarray(table, self.config.param_dtype))

    def get_output_embeddings(self) -> jax.Array:
        head = self._head()
        return self.embeddings.word[...] if self.tied else head.decoder[...]

    def set_output_embeddings(self, table: jax.Array) -> None:
        head = self._head()
        if self.tied:
            current = self.embeddings.word[...]
            if table.shape != current.shape or not bool(jnp.array_equal(table, current)):
                raise ValueError(
                    "embeddings are tied: set the input embeddings instead of the output ones"
                )
            return
        if table.ndim != 2 or table.shape[1] != self.config.hidden_size:
            raise ValueError(
                f"output embeddings must be [vocab, {self.config.hidden_size}], got {table.shape}"
            )
        head.decoder.set_value(jnp.asarray(table, self.config.param_dtype))

    def get_output_bias(self) -> jax.Array | None:
        return self.head.bias[...] if self.config.has_lm_head else None

    def set_output_bias(self, bias: jax.Array) -> None:
        head = self._head()
        if bias.ndim != 1:
            raise ValueError(f"output bias must be [vocab], got {bias.shape}")
        head.bias.set_value(jnp.asarray(bias, self.config.param_dtype))


MODEL_CLASS = EncoderModel


def tiny_config(**overrides: Any) -> ModelConfig:
    """A 2-layer, 32-wide encoder; `family="roberta"`/`"xlm-roberta"` gets RoBERTa's pad/positions."""
    family = overrides.get("family", "bert")
    pad = overrides.get("pad_token_id", 0 if family == "bert" else 1)
    base = dict(
        family=family,
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        hidden_act="gelu",
        max_position_embeddings=64 + (0 if family == "bert" else pad + 1),
        layer_norm_eps=1e-12,
        type_vocab_size=2 if family == "bert" else 1,
        position_offset=0 if family == "bert" else pad + 1,
        pad_token_id=pad,
        tie_word_embeddings=True,
    )
    base.update(overrides)
    if "num_attention_heads" in overrides and "num_key_value_heads" not in overrides:
        base["num_key_value_heads"] = base["num_attention_heads"]
    return ModelConfig(**base)
