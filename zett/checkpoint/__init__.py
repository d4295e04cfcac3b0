"""Checkpoint files in and out, with no model code: safetensors headers and indexes, tensors as
streamable sources, the sharded safetensors writer, GGUF files in Hugging Face form, the vocabulary
tensors `transfer` and `extend` rewrite, and atomic (temp-then-rename) files and directories.

Reading: `tensor_entries` / `tensor_shapes` (headers only), `safetensors_sources` (streamable
sources), `LazyTensors` / `read_tensor` / `iter_tensors` (arrays), `read_gguf` / `gguf_sources`.
Writing: `write_sharded` (shards + index), `replace_rows` / `rewrite_file` (new vocabulary rows),
`atomic_dir` / `write_atomic`. Every bad input raises `CheckpointError` naming the file."""

from zett.checkpoint.atomic import atomic_dir, atomic_path, check_output_dir, write_atomic
from zett.checkpoint.errors import CheckpointError
from zett.checkpoint.gguf import (
    GGUFCheckpoint,
    gguf_sources,
    hf_tensor_name,
    read_gguf,
    unpermute_rotary,
)
from zett.checkpoint.gguf_file import GGUFFile, GGUFFormatError
from zett.checkpoint.hf_dir import (
    CONFIG_FILE,
    DEFAULT_MAX_SHARD_BYTES,
    INDEX_FILE,
    PROVENANCE_FILE,
    SINGLE_FILE,
    TOKENIZER_FILES,
    copy_tokenizer_files,
    read_hf_config,
    read_json_object,
    resolve,
)
from zett.checkpoint.index import (
    DTYPES,
    SafetensorsFormatError,
    TensorEntry,
    by_file,
    read_header,
    read_index,
    tensor_entries,
    tensor_shapes,
)
from zett.checkpoint.sources import (
    LazyTensors,
    TensorSource,
    array_source,
    iter_tensors,
    read_tensor,
    safetensors_sources,
)
from zett.checkpoint.vocab import replace_rows, rewrite_file, vocab_role, vocab_tensors
from zett.checkpoint.writer import write_file, write_sharded

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_MAX_SHARD_BYTES",
    "DTYPES",
    "INDEX_FILE",
    "PROVENANCE_FILE",
    "SINGLE_FILE",
    "TOKENIZER_FILES",
    "CheckpointError",
    "GGUFCheckpoint",
    "GGUFFile",
    "GGUFFormatError",
    "LazyTensors",
    "SafetensorsFormatError",
    "TensorEntry",
    "TensorSource",
    "array_source",
    "atomic_dir",
    "atomic_path",
    "by_file",
    "check_output_dir",
    "copy_tokenizer_files",
    "gguf_sources",
    "hf_tensor_name",
    "iter_tensors",
    "read_gguf",
    "read_header",
    "read_hf_config",
    "read_json_object",
    "read_index",
    "read_tensor",
    "replace_rows",
    "resolve",
    "rewrite_file",
    "safetensors_sources",
    "tensor_entries",
    "tensor_shapes",
    "unpermute_rotary",
    "vocab_role",
    "vocab_tensors",
    "write_atomic",
    "write_file",
    "write_sharded",
]
