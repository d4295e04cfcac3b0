"""BERT / RoBERTa / XLM-R encoders with their masked-LM head, numerically matching Hugging Face."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.api import LanguageModel, param
from zett.models.config import HF_ARCHITECTURES, ModelConfig, UnsupportedModelError
from zett.models.weights import WeightRule, transpose

FAMILIES: tuple[str, ...] = ("bert", "roberta", "xlm-roberta")

# HF `model_type` → family and the attribute name of the base model inside *ForMaskedLM
_BASE_PREFIX = {"bert": "bert", "roberta": "roberta", "xlm-roberta": "roberta"}
_BARE_ARCHITECTURES = {
    "bert": "BertModel",
    "roberta": "RobertaModel",
    "xlm-roberta": "XLMRobertaModel",
}
# checkpoints whose MLM head we load (an NSP head beside it is dropped by `ignored_tensors`)
_HEAD_ARCHITECTURES = {
    "bert": ("BertForMaskedLM", "BertForPreTraining"),
    "roberta": ("RobertaForMaskedLM",),
    "xlm-roberta": ("XLMRobertaForMaskedLM",),
}

_ACTIVATIONS = {
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "gelu_python": lambda x: jax.nn.gelu(x, approximate=False),
    "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_fast": lambda x: jax.nn.gelu(x, approximate=True),
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
}

# HF config keys that change the computation in ways zett does not implement
_REJECT = {
    "is_decoder": (False,),
    "add_cross_attention": (False,),
    "position_embedding_type": ("absolute",),
}
# HF keys translated into ModelConfig fields (or recomputed on export) rather than passed through
_CONSUMED = {
    "model_type",
    "architectures",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "hidden_act",
    "max_position_embeddings",
    "layer_norm_eps",
    "type_vocab_size",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "tie_word_embeddings",
    "dtype",
    "torch_dtype",
    "transformers_version",
    "_name_or_path",
    "is_decoder",
    "add_cross_attention",
    "position_embedding_type",
}


def _layer_norm(x: jax.Array, scale: jax.Array, bias: jax.Array, eps: float) -> jax.Array:
    # statistics in fp32 whatever the compute dtype, as torch does for LayerNorm under autocast
    xf = x.astype(jnp.float32)
    mean = xf.mean(-1, keepdims=True)
    var = jnp.square(xf - mean).mean(-1, keepdims=True)
    y = (xf - mean) * jax.lax.rsqrt(var + eps)
    return (y * scale.astype(jnp.float32) + bias.astype(jnp.float32)).astype(x.dtype)


def _normal(rngs: nnx.Rngs, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """N(0, 0.02²) as HF initialises; drawn by numpy (seeded from the key) because eager jax.random
    compiles one program per shape, which costs seconds per model on CPU."""
    key = rngs.params()
    if isinstance(key, jax.core.Tracer):  # under nnx.eval_shape / jit: stay traceable
        return (0.02 * jax.random.normal(key, shape, jnp.float32)).astype(dtype)
    seed = np.asarray(jax.random.key_data(key)).ravel()
    values = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) * 0.02
    return jnp.asarray(values, dtype=dtype)


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
        self.norm_scale = param(jnp.ones((e,), pd), ("embed",))
        self.norm_bias = param(jnp.zeros((e,), pd), ("embed",))


class EncoderLayer(nnx.Module):
    """Post-LN block: x = LN(x + attn(x)); x = LN(x + mlp(x))."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        e, h, d, m = (
            config.hidden_size,
            config.num_attention_heads,
            config.resolved_head_dim,
            config.intermediate_size,
        )
        pd = jnp.dtype(config.param_dtype)
        self.config = config
        for n in ("q", "k", "v"):
            setattr(
                self,
                f"{n}_kernel",
                param(_normal(rngs, (e, h, d), pd), ("embed", "heads", "head_dim")),
            )
            setattr(self, f"{n}_bias", param(jnp.zeros((h, d), pd), ("heads", "head_dim")))
        self.o_kernel = param(_normal(rngs, (h, d, e), pd), ("heads", "head_dim", "embed"))
        self.o_bias = param(jnp.zeros((e,), pd), ("embed",))
        self.attn_norm_scale = param(jnp.ones((e,), pd), ("embed",))
        self.attn_norm_bias = param(jnp.zeros((e,), pd), ("embed",))
        self.up_kernel = param(_normal(rngs, (e, m), pd), ("embed", "mlp"))
        self.up_bias = param(jnp.zeros((m,), pd), ("mlp",))
        self.down_kernel = param(_normal(rngs, (m, e), pd), ("mlp", "embed"))
        self.down_bias = param(jnp.zeros((e,), pd), ("embed",))
        self.mlp_norm_scale = param(jnp.ones((e,), pd), ("embed",))
        self.mlp_norm_bias = param(jnp.zeros((e,), pd), ("embed",))

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        """x [batch, seq, embed], mask [batch, seq] bool (True = token) → [batch, seq, embed]."""
        c, dt = self.config, x.dtype
        w = lambda v: v[...].astype(dt)  # noqa: E731
        q = jnp.einsum("bse,ehd->bshd", x, w(self.q_kernel)) + w(self.q_bias)
        k = jnp.einsum("bse,ehd->bshd", x, w(self.k_kernel)) + w(self.k_bias)
        v = jnp.einsum("bse,ehd->bshd", x, w(self.v_kernel)) + w(self.v_bias)
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k, preferred_element_type=jnp.float32)
        scores = scores * (c.resolved_head_dim**-0.5)
        # finite fill (not -inf) so an all-padding row gives a uniform softmax instead of NaN
        scores = jnp.where(mask[:, None, None, :], scores, jnp.finfo(jnp.float32).min)
        probs = jax.nn.softmax(scores, axis=-1).astype(dt)
        ctx = jnp.einsum("bhqk,bkhd->bqhd", probs, v)
        attn = jnp.einsum("bqhd,hde->bqe", ctx, w(self.o_kernel)) + w(self.o_bias)
        x = _layer_norm(
            x + attn, self.attn_norm_scale[...], self.attn_norm_bias[...], c.layer_norm_eps
        )
        act = _ACTIVATIONS[c.hidden_act]
        h = act(x @ w(self.up_kernel) + w(self.up_bias)) @ w(self.down_kernel) + w(self.down_bias)
        return _layer_norm(
            x + h, self.mlp_norm_scale[...], self.mlp_norm_bias[...], c.layer_norm_eps
        )


class MLMHead(nnx.Module):
    """dense [embed, embed] + act + LayerNorm, then the (tied) decoder [vocab, embed] + bias
    [vocab]."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        e, pd = config.hidden_size, jnp.dtype(config.param_dtype)
        self.dense_kernel = param(_normal(rngs, (e, e), pd), ("embed", None))
        self.dense_bias = param(jnp.zeros((e,), pd), (None,))
        self.norm_scale = param(jnp.ones((e,), pd), ("embed",))
        self.norm_bias = param(jnp.zeros((e,), pd), ("embed",))
        self.bias = param(jnp.zeros((config.vocab_size,), pd), ("vocab",))
        if not config.tie_word_embeddings:
            self.decoder = param(_normal(rngs, (config.vocab_size, e), pd), ("vocab", "embed"))


class EncoderModel(LanguageModel):
    """BERT-family masked LM. Token type ids are always 0 (single-segment input, HF's default)."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        if config.family not in FAMILIES:
            raise UnsupportedModelError(f"EncoderModel handles {FAMILIES}, not {config.family!r}")
        if config.hidden_act not in _ACTIVATIONS:
            raise UnsupportedModelError(
                f"hidden_act {config.hidden_act!r} not in {sorted(_ACTIVATIONS)}"
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
            e, pd = config.hidden_size, jnp.dtype(config.param_dtype)
            self.pooler_kernel = param(_normal(rngs, (e, e), pd), ("embed", None))
            self.pooler_bias = param(jnp.zeros((e,), pd), (None,))

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
                f"positions "
                f"this {c.family} model has"
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
        x = _layer_norm(x, emb.norm_scale[...], emb.norm_bias[...], c.layer_norm_eps)
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
        act = _ACTIVATIONS["gelu" if self.config.family != "bert" else self.config.hidden_act]
        h = act(hidden @ head.dense_kernel[...].astype(dt) + head.dense_bias[...].astype(dt))
        h = _layer_norm(h, head.norm_scale[...], head.norm_bias[...], self.config.layer_norm_eps)
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
        dt = hidden.dtype
        return jnp.tanh(
            hidden[:, 0] @ self.pooler_kernel[...].astype(dt) + self.pooler_bias[...].astype(dt)
        )

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


# --- Hugging Face config.json ---------------------------------------------------------------------
def from_hf_config(hf: dict[str, Any]) -> ModelConfig:
    family = hf.get("model_type")
    if family not in FAMILIES:
        raise UnsupportedModelError(
            f"model_type {family!r} is not an encoder family zett supports: {FAMILIES}"
        )
    for key, allowed in _REJECT.items():
        if key in hf and hf[key] not in allowed:
            raise UnsupportedModelError(
                f"{family} config option {key}={hf[key]!r} is not supported (only {allowed})"
            )
    act = hf.get("hidden_act", "gelu")
    if act not in _ACTIVATIONS:
        raise UnsupportedModelError(
            f"{family} hidden_act {act!r} is not supported; zett has {sorted(_ACTIVATIONS)}"
        )
    archs = hf.get("architectures") or [HF_ARCHITECTURES[family]]
    arch = archs[0]
    if arch == _BARE_ARCHITECTURES[family]:
        has_head = False
    elif arch in _HEAD_ARCHITECTURES[family]:
        has_head = True
    else:
        raise UnsupportedModelError(
            f"architecture {arch!r} is not supported; for {family} zett loads "
            f"{(_BARE_ARCHITECTURES[family],) + _HEAD_ARCHITECTURES[family]}"
        )
    hidden, heads = int(hf["hidden_size"]), int(hf["num_attention_heads"])
    if hidden % heads:
        raise UnsupportedModelError(
            f"hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
        )
    pad = hf.get("pad_token_id", 0 if family == "bert" else 1)
    if family != "bert" and pad is None:
        raise UnsupportedModelError(
            f"{family} needs pad_token_id: its positions start at pad_token_id + 1"
        )
    extra = {k: v for k, v in hf.items() if k not in _CONSUMED}
    return ModelConfig(
        family=family,
        vocab_size=int(hf["vocab_size"]),
        hidden_size=hidden,
        intermediate_size=int(hf["intermediate_size"]),
        num_hidden_layers=int(hf["num_hidden_layers"]),
        num_attention_heads=heads,
        num_key_value_heads=heads,
        hidden_act=act,
        max_position_embeddings=int(hf.get("max_position_embeddings", 512)),
        layer_norm_eps=float(hf.get("layer_norm_eps", 1e-12)),
        type_vocab_size=int(hf.get("type_vocab_size", 2)),
        position_offset=0 if family == "bert" else int(pad) + 1,
        has_lm_head=has_head,
        tie_word_embeddings=bool(hf.get("tie_word_embeddings", True)),
        pad_token_id=pad,
        bos_token_id=hf.get("bos_token_id"),
        eos_token_id=hf.get("eos_token_id"),
        extra=extra,
    )


def to_hf_config(config: ModelConfig) -> dict[str, Any]:
    arch = (
        HF_ARCHITECTURES[config.family]
        if config.has_lm_head
        else _BARE_ARCHITECTURES[config.family]
    )
    hf = dict(config.extra)
    hf.update(
        model_type=config.family,
        architectures=[arch],
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        hidden_act=config.hidden_act,
        max_position_embeddings=config.max_position_embeddings,
        layer_norm_eps=config.layer_norm_eps,
        type_vocab_size=config.type_vocab_size,
        position_embedding_type="absolute",
        is_decoder=False,
        tie_word_embeddings=config.tie_word_embeddings,
        pad_token_id=config.pad_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        dtype=config.param_dtype,
    )
    return hf


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


# --- Hugging Face tensor names
# ----------------------------------------------------------------------
def weight_rules(config: ModelConfig) -> list[WeightRule]:
    """HF names ↔ NNX paths. Bare encoders (BertModel) have no `bert.` prefix and no head."""
    e, h, d = config.hidden_size, config.num_attention_heads, config.resolved_head_dim
    p = _BASE_PREFIX[config.family] + r"\." if config.has_lm_head else ""
    layer = p + r"encoder\.layer\.(\d+)\."

    def qkv_in(x: np.ndarray) -> np.ndarray:  # [heads*head_dim, embed] → [embed, heads, head_dim]
        return np.ascontiguousarray(x.T).reshape(e, h, d)

    def qkv_out(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x.reshape(e, h * d).T)

    def o_in(x: np.ndarray) -> np.ndarray:  # [embed, heads*head_dim] → [heads, head_dim, embed]
        return np.ascontiguousarray(x.T).reshape(h, d, e)

    def o_out(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x.reshape(h * d, e).T)

    def split_heads(x: np.ndarray) -> np.ndarray:
        return x.reshape(h, d)

    def join_heads(x: np.ndarray) -> np.ndarray:
        return x.reshape(h * d)

    rules = [
        WeightRule(p + r"embeddings\.word_embeddings\.weight", "embeddings.word"),
        WeightRule(p + r"embeddings\.position_embeddings\.weight", "embeddings.position"),
        WeightRule(p + r"embeddings\.token_type_embeddings\.weight", "embeddings.token_type"),
        WeightRule(p + r"embeddings\.LayerNorm\.weight", "embeddings.norm_scale"),
        WeightRule(p + r"embeddings\.LayerNorm\.bias", "embeddings.norm_bias"),
    ]
    for hf_n, n in (("query", "q"), ("key", "k"), ("value", "v")):
        rules += [
            WeightRule(
                layer + rf"attention\.self\.{hf_n}\.weight",
                f"layers.{{0}}.{n}_kernel",
                qkv_in,
                qkv_out,
            ),
            WeightRule(
                layer + rf"attention\.self\.{hf_n}\.bias",
                f"layers.{{0}}.{n}_bias",
                split_heads,
                join_heads,
            ),
        ]
    rules += [
        WeightRule(layer + r"attention\.output\.dense\.weight", "layers.{0}.o_kernel", o_in, o_out),
        WeightRule(layer + r"attention\.output\.dense\.bias", "layers.{0}.o_bias"),
        WeightRule(layer + r"attention\.output\.LayerNorm\.weight", "layers.{0}.attn_norm_scale"),
        WeightRule(layer + r"attention\.output\.LayerNorm\.bias", "layers.{0}.attn_norm_bias"),
        WeightRule(
            layer + r"intermediate\.dense\.weight", "layers.{0}.up_kernel", transpose, transpose
        ),
        WeightRule(layer + r"intermediate\.dense\.bias", "layers.{0}.up_bias"),
        WeightRule(
            layer + r"output\.dense\.weight", "layers.{0}.down_kernel", transpose, transpose
        ),
        WeightRule(layer + r"output\.dense\.bias", "layers.{0}.down_bias"),
        WeightRule(layer + r"output\.LayerNorm\.weight", "layers.{0}.mlp_norm_scale"),
        WeightRule(layer + r"output\.LayerNorm\.bias", "layers.{0}.mlp_norm_bias"),
    ]
    if not config.has_lm_head:
        rules += [
            WeightRule(r"pooler\.dense\.weight", "pooler_kernel", transpose, transpose),
            WeightRule(r"pooler\.dense\.bias", "pooler_bias"),
        ]
    else:
        if config.family == "bert":
            hp, dense, norm = (
                r"cls\.predictions\.",
                r"transform\.dense\.",
                r"transform\.LayerNorm\.",
            )
        else:
            hp, dense, norm = r"lm_head\.", r"dense\.", r"layer_norm\."
        rules += [
            WeightRule(hp + dense + "weight", "head.dense_kernel", transpose, transpose),
            WeightRule(hp + dense + "bias", "head.dense_bias"),
            WeightRule(hp + norm + "weight", "head.norm_scale"),
            WeightRule(hp + norm + "bias", "head.norm_bias"),
        ]
        if config.tie_word_embeddings:
            rules.append(WeightRule(hp + "bias", "head.bias"))
        else:
            # untied, transformers 5 uses the decoder's own bias and leaves `bias` unused (4.x kept
            # them equal)
            rules += [
                WeightRule(hp + r"decoder\.weight", "head.decoder"),
                WeightRule(hp + r"decoder\.bias", "head.bias"),
            ]
    return rules


def ignored_tensors(config: ModelConfig) -> tuple[str, ...]:
    """HF tensors zett drops on load, as transformers' *ForMaskedLM does: buffers, the pooler and NSP
    head of pre-training checkpoints, and the decoder copies HF re-ties to the embeddings / head
    bias."""
    p = r"(?:bert|roberta)\."
    ignored = [rf"(?:{p})?embeddings\.position_ids"]
    if config.has_lm_head:
        ignored += [rf"{p}pooler\..*", r"cls\.seq_relationship\..*"]
        hp = r"cls\.predictions\." if config.family == "bert" else r"lm_head\."
        if config.tie_word_embeddings:
            ignored += [hp + r"decoder\.weight", hp + r"decoder\.bias"]
        else:
            ignored.append(hp + "bias")
    return tuple(ignored)
