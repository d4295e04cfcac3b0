"""Hugging Face translation of the encoder family (`encoder.py`: BERT, RoBERTa, XLM-R): config.json
↔ `ModelConfig`, safetensors names ↔ `EncoderModel` parameter paths."""

from __future__ import annotations

from typing import Any

from zett.models.config import HF_ARCHITECTURES, ModelConfig, UnsupportedModelError
from zett.models.encoder import FAMILIES
from zett.models.hf_layout import heads_bias, heads_in, heads_out
from zett.models.layers import ACTIVATIONS
from zett.models.weights import WeightRule, transpose

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


# --- config.json -----------------------------------------------------------------------------------


def from_hf_config(hf: dict[str, Any]) -> ModelConfig:
    """HF BERT / RoBERTa / XLM-R config.json (masked LM or bare encoder) → `ModelConfig`."""
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
    if act not in ACTIVATIONS:
        raise UnsupportedModelError(
            f"{family} hidden_act {act!r} is not supported; zett has {sorted(ACTIVATIONS)}"
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
    """`ModelConfig` → a config.json dict that `transformers.AutoConfig` loads."""
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


# --- tensor names ----------------------------------------------------------------------------------


def weight_rules(config: ModelConfig) -> list[WeightRule]:
    """HF names ↔ NNX paths. Bare encoders (BertModel) have no `bert.` prefix and no head."""
    e, h, d = config.hidden_size, config.num_attention_heads, config.resolved_head_dim
    p = _BASE_PREFIX[config.family] + r"\." if config.has_lm_head else ""
    layer = p + r"encoder\.layer\.(\d+)\."
    T = "layers.{0}."
    rules = [
        WeightRule(p + r"embeddings\.word_embeddings\.weight", "embeddings.word"),
        WeightRule(p + r"embeddings\.position_embeddings\.weight", "embeddings.position"),
        WeightRule(p + r"embeddings\.token_type_embeddings\.weight", "embeddings.token_type"),
        WeightRule(p + r"embeddings\.LayerNorm\.weight", "embeddings.norm.scale"),
        WeightRule(p + r"embeddings\.LayerNorm\.bias", "embeddings.norm.bias"),
    ]
    for hf_n, n in (("query", "q"), ("key", "k"), ("value", "v")):
        rules += [
            WeightRule(
                layer + rf"attention\.self\.{hf_n}\.weight",
                T + f"self_attn.{n}_proj",
                *heads_in(h, d, e),
            ),
            WeightRule(
                layer + rf"attention\.self\.{hf_n}\.bias",
                T + f"self_attn.{n}_bias",
                *heads_bias(h, d),
            ),
        ]
    rules += [
        WeightRule(
            layer + r"attention\.output\.dense\.weight", T + "self_attn.o_proj", *heads_out(h, d, e)
        ),
        WeightRule(layer + r"attention\.output\.dense\.bias", T + "self_attn.o_bias"),
        WeightRule(layer + r"attention\.output\.LayerNorm\.weight", T + "attn_norm.scale"),
        WeightRule(layer + r"attention\.output\.LayerNorm\.bias", T + "attn_norm.bias"),
        WeightRule(layer + r"intermediate\.dense\.weight", T + "up.kernel", transpose, transpose),
        WeightRule(layer + r"intermediate\.dense\.bias", T + "up.bias"),
        WeightRule(layer + r"output\.dense\.weight", T + "down.kernel", transpose, transpose),
        WeightRule(layer + r"output\.dense\.bias", T + "down.bias"),
        WeightRule(layer + r"output\.LayerNorm\.weight", T + "mlp_norm.scale"),
        WeightRule(layer + r"output\.LayerNorm\.bias", T + "mlp_norm.bias"),
    ]
    if not config.has_lm_head:
        rules += [
            WeightRule(r"pooler\.dense\.weight", "pooler.kernel", transpose, transpose),
            WeightRule(r"pooler\.dense\.bias", "pooler.bias"),
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
            WeightRule(hp + dense + "weight", "head.dense.kernel", transpose, transpose),
            WeightRule(hp + dense + "bias", "head.dense.bias"),
            WeightRule(hp + norm + "weight", "head.norm.scale"),
            WeightRule(hp + norm + "bias", "head.norm.bias"),
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
