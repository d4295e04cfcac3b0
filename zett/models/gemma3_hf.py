"""Hugging Face translation of Gemma 3 (`gemma3.py`): config.json (`Gemma3TextConfig`, or the
text part of a multimodal `gemma3` config) ↔ `ModelConfig`, safetensors names ↔ parameter paths."""

from __future__ import annotations

from typing import Any

from zett.models.config import HF_ARCHITECTURES, ModelConfig, RopeScaling, UnsupportedModelError
from zett.models.gemma3 import (
    FULL,
    SLIDING,
    check_config,
    default_layer_types,
    layer_types_of,
    query_scalar,
)
from zett.models.hf_layout import heads_in, heads_out
from zett.models.layers import ACTIVATIONS
from zett.models.rope import check_rope_scaling, rope_from_hf, rope_to_hf
from zett.models.weights import WeightRule, transpose

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


# --- config.json -----------------------------------------------------------------------------------


def _rope_from_hf(hf: dict[str, Any], max_pos: int) -> tuple[float, float, RopeScaling | None]:
    """(global theta, local theta, global scaling): transformers 5 `rope_parameters` per layer type,
    or a flat dict (or legacy `rope_scaling`) for the global layers with `rope_local_base_freq` as
    the local theta."""
    rp = hf.get("rope_parameters")
    if rp and (FULL in rp or SLIDING in rp):
        full, local = rp.get(FULL) or {}, rp.get(SLIDING) or {}
    else:
        full, local = rp or hf.get("rope_scaling") or {}, {}
    theta, scaling = rope_from_hf(
        full,
        hf,
        theta=hf.get("rope_theta", HF_DEFAULTS["rope_theta"]),
        max_position_embeddings=max_pos,
        what="gemma3",
    )
    local_theta, local_scaling = rope_from_hf(
        local,
        {},
        theta=hf.get("rope_local_base_freq", HF_DEFAULTS["rope_local_base_freq"]),
        max_position_embeddings=max_pos,
        what="gemma3 sliding-window layers",
    )
    if local_scaling is not None:
        raise UnsupportedModelError(
            f"gemma3: rope scaling on sliding-window layers is not supported: {local}"
        )
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
    theta, local_theta, scaling = _rope_from_hf(hf, int(get("max_position_embeddings")))
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
    check_config(config)
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
        "query_pre_attn_scalar": _num(query_scalar(config)),
        "sliding_window": config.sliding_window,
        "layer_types": list(layer_types_of(config)),
        "attn_logit_softcapping": None,
        "final_logit_softcapping": config.final_logit_softcapping,
        "use_bidirectional_attention": False,
        "rope_parameters": {
            FULL: rope_to_hf(config.rope_theta, config.rope_scaling),
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


# --- tensor names ----------------------------------------------------------------------------------


def ignored_tensors(config: ModelConfig) -> tuple[str, ...]:
    """A tied model's `lm_head.weight` (a torch `state_dict` lists it; `save_pretrained` drops it)
    duplicates the embedding table."""
    return (r"lm_head\.weight",) if config.tie_word_embeddings else ()


def weight_rules(config: ModelConfig) -> list[WeightRule]:
    """HF `Gemma3ForCausalLM` safetensors names ↔ NNX paths (tied checkpoints carry no
    `lm_head.weight`)."""
    e, d = config.hidden_size, config.resolved_head_dim
    h, kv = config.num_attention_heads, config.num_key_value_heads
    L = r"model\.layers\.(\d+)\."
    q, k_v, o = heads_in(h, d, e), heads_in(kv, d, e), heads_out(h, d, e)
    rules = [
        WeightRule(r"model\.embed_tokens\.weight", "embed_tokens.embedding"),
        WeightRule(r"model\.norm\.weight", "norm.weight"),
        WeightRule(L + r"self_attn\.q_proj\.weight", "layers.{0}.self_attn.q_proj", *q),
        WeightRule(L + r"self_attn\.k_proj\.weight", "layers.{0}.self_attn.k_proj", *k_v),
        WeightRule(L + r"self_attn\.v_proj\.weight", "layers.{0}.self_attn.v_proj", *k_v),
        WeightRule(L + r"self_attn\.o_proj\.weight", "layers.{0}.self_attn.o_proj", *o),
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
