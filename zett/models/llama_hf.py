"""Hugging Face translation of the decoder family (`decoder.py`: Llama, Mistral, Qwen2, Qwen3):
config.json ↔ `ModelConfig`, safetensors names ↔ `DecoderLM` parameter paths."""

from __future__ import annotations

from typing import Any

from zett.models.config import HF_ARCHITECTURES, ModelConfig, UnsupportedModelError
from zett.models.decoder import FAMILIES, check_config, layer_window
from zett.models.hf_layout import heads_bias, heads_in, heads_out
from zett.models.rope import rope_from_hf, rope_to_hf
from zett.models.weights import WeightRule, transpose

# --- tensor names ----------------------------------------------------------------------------------


def weight_rules(config: ModelConfig) -> list[WeightRule]:
    """HF safetensors names ↔ `DecoderLM` parameter paths (with layout changes for attention)."""
    e, d = config.hidden_size, config.resolved_head_dim
    h, k = config.num_attention_heads, config.num_key_value_heads
    L = r"model\.layers\.(\d+)\."
    T = "layers.{0}."
    rules = [
        WeightRule(r"model\.embed_tokens\.weight", "embed_tokens"),
        WeightRule(r"model\.norm\.weight", "norm.weight"),
        WeightRule(L + r"input_layernorm\.weight", T + "input_layernorm.weight"),
        WeightRule(L + r"post_attention_layernorm\.weight", T + "post_attention_layernorm.weight"),
        WeightRule(L + r"self_attn\.q_proj\.weight", T + "self_attn.q_proj", *heads_in(h, d, e)),
        WeightRule(L + r"self_attn\.k_proj\.weight", T + "self_attn.k_proj", *heads_in(k, d, e)),
        WeightRule(L + r"self_attn\.v_proj\.weight", T + "self_attn.v_proj", *heads_in(k, d, e)),
        WeightRule(L + r"self_attn\.o_proj\.weight", T + "self_attn.o_proj", *heads_out(h, d, e)),
        WeightRule(L + r"mlp\.gate_proj\.weight", T + "mlp.gate_proj", transpose, transpose),
        WeightRule(L + r"mlp\.up_proj\.weight", T + "mlp.up_proj", transpose, transpose),
        WeightRule(L + r"mlp\.down_proj\.weight", T + "mlp.down_proj", transpose, transpose),
    ]
    if config.family == "qwen2" or config.attention_bias:
        rules += [
            WeightRule(L + r"self_attn\.q_proj\.bias", T + "self_attn.q_bias", *heads_bias(h, d)),
            WeightRule(L + r"self_attn\.k_proj\.bias", T + "self_attn.k_bias", *heads_bias(k, d)),
            WeightRule(L + r"self_attn\.v_proj\.bias", T + "self_attn.v_bias", *heads_bias(k, d)),
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


# --- config.json -----------------------------------------------------------------------------------

# HF config-class defaults for keys a config.json may leave out.
_DEFAULT_MAX_POS = {"llama": 2048, "mistral": 4096 * 32, "qwen2": 32768, "qwen3": 32768}
_DEFAULT_TOKENS = {"llama": (1, 2), "mistral": (1, 2), "qwen2": (None, None), "qwen3": (None, None)}
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
    theta, scaling = rope_from_hf(
        hf.get("rope_parameters") or hf.get("rope_scaling") or {},
        hf,
        theta=hf.get("rope_theta", 10000.0),
        max_position_embeddings=max_pos,
        what=family,
    )

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
        "rope_parameters": rope_to_hf(config.rope_theta, config.rope_scaling),
        "rope_theta": config.rope_theta,  # transformers 4.x reads these two, 5.x `rope_parameters`
        "rope_scaling": None
        if config.rope_scaling is None
        else rope_to_hf(config.rope_theta, config.rope_scaling),
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
