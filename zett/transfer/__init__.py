"""Tokenizer transfer of a whole checkpoint: new embedding tables, every other tensor streamed
through."""

from zett.transfer.stream import TensorSource, gguf_sources, safetensors_sources, write_checkpoint
from zett.transfer.transfer import TransferConfig, ship_tokenizer, transfer, update_config

__all__ = [
    "TensorSource",
    "TransferConfig",
    "gguf_sources",
    "safetensors_sources",
    "ship_tokenizer",
    "transfer",
    "update_config",
    "write_checkpoint",
]
