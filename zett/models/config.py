"""One typed config for every supported base-model family, with Hugging Face config.json
translation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from zett.config import from_dict, to_dict

DECODER_FAMILIES = ("llama", "mistral", "qwen2", "qwen3")
GEMMA_FAMILIES = ("gemma3_text",)
ENCODER_FAMILIES = ("bert", "xlm-roberta", "roberta")
FAMILIES = DECODER_FAMILIES + GEMMA_FAMILIES + ENCODER_FAMILIES

# HF `architectures[0]` per family and objective, used when writing config.json.
HF_ARCHITECTURES = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "gemma3_text": "Gemma3ForCausalLM",
    "bert": "BertForMaskedLM",
    "xlm-roberta": "XLMRobertaForMaskedLM",
    "roberta": "RobertaForMaskedLM",
}


class UnsupportedModelError(ValueError):
    """The checkpoint's architecture or a config option is not implemented by zett."""


@dataclass(frozen=True)
class RopeScaling:
    """HF `rope_scaling` / `rope_parameters`: linear, dynamic, yarn, llama3, longrope or default."""

    rope_type: str = "default"
    factor: float = 1.0
    original_max_position_embeddings: int | None = None
    low_freq_factor: float | None = None  # llama3
    high_freq_factor: float | None = None  # llama3
    beta_fast: float | None = None  # yarn
    beta_slow: float | None = None  # yarn
    mscale: float | None = None  # yarn
    mscale_all_dim: float | None = None  # yarn
    truncate: bool | None = None  # yarn (None = HF default, truncate)
    attention_factor: float | None = None  # yarn / longrope
    short_factor: tuple[float, ...] | None = None  # longrope
    long_factor: tuple[float, ...] | None = None  # longrope


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters; field names follow Hugging Face's so translation is
    mechanical."""

    family: str = "llama"
    vocab_size: int = 256
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    layer_norm_eps: float = 1e-12
    rope_theta: float = 10000.0
    rope_scaling: RopeScaling | None = None
    tie_word_embeddings: bool = True
    attention_bias: bool = False  # llama/mistral option; qwen2 always has q/k/v bias
    mlp_bias: bool = False
    sliding_window: int | None = None
    # Gemma 3
    layer_types: tuple[str, ...] | None = None  # "sliding_attention" | "full_attention" per layer
    rope_local_base_freq: float = 10000.0
    query_pre_attn_scalar: float | None = None
    attn_logit_softcapping: float | None = None
    final_logit_softcapping: float | None = None
    # encoders
    type_vocab_size: int = 2
    position_offset: int = 0  # RoBERTa/XLM-R position ids start at pad_token_id + 1
    has_lm_head: bool = (
        True  # False: bare encoder checkpoint (HF BertModel): hidden states, no logits
    )
    # token ids
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    mask_token_id: int | None = None
    # runtime
    dtype: str = "float32"
    param_dtype: str = "float32"
    # passthrough HF keys we do not interpret; left out of the hash so a config (and a model's
    # graphdef) can be a static argument of jax.jit
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise UnsupportedModelError(
                f"unsupported model family {self.family!r}; zett supports {FAMILIES}"
            )
        if self.num_attention_heads % max(self.num_key_value_heads, 1):
            raise ValueError(
                f"num_attention_heads={self.num_attention_heads} is not a multiple of "
                f"num_key_value_heads={self.num_key_value_heads}"
            )

    @property
    def resolved_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def is_encoder(self) -> bool:
        return self.family in ENCODER_FAMILIES

    @property
    def is_causal(self) -> bool:
        return not self.is_encoder

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return from_dict(cls, data)
