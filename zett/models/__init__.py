"""zett.models: base language models in Flax NNX and their Hugging Face / GGUF checkpoint I/O."""

from zett.checkpoint import CheckpointError
from zett.models.api import LanguageModel, ModelOutput
from zett.models.config import ModelConfig, UnsupportedModelError
from zett.models.generate import generate_greedy
from zett.models.hf_io import load_pretrained, save_pretrained
from zett.models.registry import build_model, config_from_hf

__all__ = [
    "CheckpointError",
    "LanguageModel",
    "ModelConfig",
    "ModelOutput",
    "UnsupportedModelError",
    "build_model",
    "config_from_hf",
    "generate_greedy",
    "load_pretrained",
    "save_pretrained",
]
