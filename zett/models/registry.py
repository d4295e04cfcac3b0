"""Dispatch from a family name or HF `model_type` to the modules that implement it: the model module
(`decoder.py`, ...) and its Hugging Face translation (`llama_hf.py`, ...)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from flax import nnx

from zett.models import bert_hf, decoder, encoder, gemma3, gemma3_hf, llama_hf
from zett.models.api import LanguageModel
from zett.models.config import (
    DECODER_FAMILIES,
    ENCODER_FAMILIES,
    GEMMA_FAMILIES,
    ModelConfig,
    UnsupportedModelError,
)
from zett.models.weights import WeightRule

# ModelConfig.family → (model module: `MODEL_CLASS`, `tiny_config`; its HF translation:
# `from_hf_config`, `to_hf_config`, `weight_rules`, `ignored_tensors`)
FAMILY_MODULES: dict[str, tuple[ModuleType, ModuleType]] = {
    **{family: (decoder, llama_hf) for family in DECODER_FAMILIES},
    **{family: (gemma3, gemma3_hf) for family in GEMMA_FAMILIES},
    **{family: (encoder, bert_hf) for family in ENCODER_FAMILIES},
}
# HF config.json `model_type` → ModelConfig.family
HF_MODEL_TYPES: dict[str, str] = {
    "llama": "llama",
    "mistral": "mistral",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma3_text": "gemma3_text",
    "gemma3": "gemma3_text",  # the multimodal config; its family module reads the text part
    "bert": "bert",
    "roberta": "roberta",
    "xlm-roberta": "xlm-roberta",
}


def _modules(family: str) -> tuple[ModuleType, ModuleType]:
    if family not in FAMILY_MODULES:
        raise UnsupportedModelError(
            f"unknown model family {family!r}; zett knows {sorted(HF_MODEL_TYPES.values())}"
        )
    return FAMILY_MODULES[family]


def family_module(family: str) -> ModuleType:
    """The module implementing `family`."""
    return _modules(family)[0]


def hf_module(family: str) -> ModuleType:
    """The HF config / tensor-name translation of `family`."""
    return _modules(family)[1]


def config_from_hf(hf_config: dict[str, Any]) -> ModelConfig:
    """HF config.json dict → ModelConfig, by `model_type`."""
    model_type = hf_config.get("model_type")
    if model_type not in HF_MODEL_TYPES:
        raise UnsupportedModelError(
            f"model_type {model_type!r} (architectures {hf_config.get('architectures')}) is not "
            f"supported; "
            f"zett supports {sorted(HF_MODEL_TYPES)}"
        )
    return hf_module(HF_MODEL_TYPES[model_type]).from_hf_config(hf_config)


def hf_config_from(config: ModelConfig) -> dict[str, Any]:
    """ModelConfig → a config.json dict that `transformers.AutoConfig` loads."""
    return hf_module(config.family).to_hf_config(config)


def model_class(config: ModelConfig) -> type[LanguageModel]:
    return family_module(config.family).MODEL_CLASS


def build_model(config: ModelConfig, seed: int = 0) -> LanguageModel:
    """A randomly initialised model of `config`'s family."""
    return model_class(config)(config, rngs=nnx.Rngs(seed))


def abstract_model(config: ModelConfig) -> LanguageModel:
    """The model with shape-only parameters (no memory, no init compute), to be filled from a
    checkpoint."""
    cls = model_class(config)
    return nnx.eval_shape(lambda: cls(config, rngs=nnx.Rngs(0)))


def rules_for(config: ModelConfig) -> list[WeightRule]:
    return hf_module(config.family).weight_rules(config)


def ignored_for(config: ModelConfig) -> tuple[str, ...]:
    """Regexes of HF tensors the family drops on load (buffers, duplicates of tied weights, ...)."""
    return tuple(hf_module(config.family).ignored_tensors(config))


def tiny_config(family: str, **overrides: Any) -> ModelConfig:
    return family_module(family).tiny_config(family=family, **overrides)
