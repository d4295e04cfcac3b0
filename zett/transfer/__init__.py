"""Tokenizer transfer of a whole checkpoint: new embedding tables, every other tensor streamed
through (the checkpoint files are `zett.checkpoint`'s)."""

from zett.transfer.transfer import TransferConfig, ship_tokenizer, transfer, update_config

__all__ = [
    "TransferConfig",
    "ship_tokenizer",
    "transfer",
    "update_config",
]
