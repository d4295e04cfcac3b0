"""zett: Zero-Shot Tokenizer Transfer and vocabulary extension for pretrained language models in
JAX."""

__version__ = "0.1.0"
