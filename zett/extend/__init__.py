"""Vocabulary extension: modality id layouts, tokenizer and checkpoint growth, new-row initialisers,
training aids."""

from zett.extend.checkpoint import (
    CheckpointExtensionError,
    extend_checkpoint,
    extend_table,
    new_row_ids,
)
from zett.extend.hf_config import read_layout, update_config
from zett.extend.init import METHODS, InitSpec, init_rows, make_init
from zett.extend.layout import (
    IdMapping,
    IdOutOfRangeError,
    IdRange,
    LayoutError,
    Segment,
    VocabLayout,
)
from zett.extend.pipeline import ExtensionPlan, plan_extension, plan_for_dir, run_extension
from zett.extend.tokenizer import (
    TokenizerExtensionError,
    add_tokens,
    expand_pattern,
    load_tokenizer,
    save_tokenizer,
    verify_tokenizer,
)

# masks/optim import jax and optax, mass/padding run the model; loaded on first use so `zett extend`
# starts fast
_LAZY = {
    "MassReport": "mass",
    "new_id_mass": "mass",
    "PaddingRow": "padding",
    "padding_row": "padding",
    "allowed_ids": "masks",
    "mask_logits": "masks",
    "mask_logits_per_position": "masks",
    "masked_cross_entropy": "masks",
    "segment_masks": "masks",
    "vocab_row_schedule": "optim",
    "with_row_schedule": "optim",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"zett.extend.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'zett.extend' has no attribute {name!r}")


__all__ = [
    "METHODS",
    "CheckpointExtensionError",
    "ExtensionPlan",
    "IdMapping",
    "IdOutOfRangeError",
    "IdRange",
    "InitSpec",
    "LayoutError",
    "MassReport",
    "PaddingRow",
    "Segment",
    "TokenizerExtensionError",
    "VocabLayout",
    "add_tokens",
    "allowed_ids",
    "expand_pattern",
    "extend_checkpoint",
    "extend_table",
    "init_rows",
    "load_tokenizer",
    "make_init",
    "mask_logits",
    "mask_logits_per_position",
    "masked_cross_entropy",
    "new_id_mass",
    "new_row_ids",
    "padding_row",
    "plan_extension",
    "plan_for_dir",
    "read_layout",
    "run_extension",
    "save_tokenizer",
    "segment_masks",
    "update_config",
    "verify_tokenizer",
    "vocab_row_schedule",
    "with_row_schedule",
]
