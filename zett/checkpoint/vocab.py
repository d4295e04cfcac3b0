"""The tensors of a checkpoint indexed by vocabulary id, and the same tensors with new rows.

`zett transfer` (new tables for a new tokenizer) and `zett extend` (tables grown along an id
mapping) both rewrite a checkpoint this way: every other tensor streams through unchanged."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from zett.checkpoint.errors import CheckpointError
from zett.checkpoint.index import DTYPES, read_header
from zett.checkpoint.sources import TensorSource, safetensors_sources
from zett.checkpoint.writer import write_file

# names across the supported families (llama/mistral/qwen/gemma, bert/roberta/xlm-r, gpt-2 style):
# "input" rows are embeddings, "output" rows the LM head, "bias" the LM head's bias
_INPUT = re.compile(r"(^|\.)(embed_tokens|word_embeddings|wte)\.weight$")
_OUTPUT = re.compile(r"(^|\.)(lm_head|embed_out|output|cls\.predictions\.decoder|decoder)\.weight$")
_BIAS = re.compile(
    r"(^|\.)(cls\.predictions\.bias|cls\.predictions\.decoder\.bias|lm_head\.bias|decoder\.bias)$"
)

NewRows = np.ndarray | Callable[[np.ndarray], np.ndarray]


def vocab_role(name: str, ndim: int) -> str | None:
    """ "input", "output" or "bias" when the name and rank say the tensor is indexed by token id."""
    if ndim == 2 and _INPUT.search(name):
        return "input"
    if ndim == 2 and _OUTPUT.search(name):
        return "output"
    if ndim == 1 and _BIAS.search(name):
        return "bias"
    return None


def vocab_tensors(shapes: Mapping[str, tuple[int, ...]], rows: int) -> dict[str, str]:
    """{tensor name: "input" | "output" | "bias"} for the tensors whose first axis is the
    `rows`-id vocabulary."""
    found = {}
    for name, shape in shapes.items():
        role = vocab_role(name, len(shape))
        if role is not None and shape[0] == rows:
            found[name] = role
    return found


def with_rows(source: TensorSource, rows: int, new: NewRows) -> TensorSource:
    """`source` with `rows` rows along its first axis, in its own dtype: the array `new` (cast now),
    or `new(old array)` computed when the tensor is written."""
    dtype = DTYPES[source.dtype]
    shape = (rows, *source.shape[1:])
    if callable(new):
        return TensorSource(source.name, source.dtype, shape, lambda: new(source.load()))
    table = new.astype(dtype, copy=False)
    if table.shape != shape:
        raise CheckpointError(
            f"tensor {source.name!r}: the new table has shape {table.shape}, expected {shape}"
        )
    return TensorSource(source.name, source.dtype, shape, lambda: table)


def replace_rows(
    tensors: Sequence[TensorSource], new: Mapping[str, NewRows], rows: int | Mapping[str, int]
) -> list[TensorSource]:
    """`tensors` in order, those named in `new` given `rows` rows (see `with_rows`); `rows` may be
    per tensor (tables over different id ranges)."""
    missing = set(new) - {t.name for t in tensors}
    if missing:
        raise CheckpointError(f"no tensor named {sorted(missing)[0]!r} in the checkpoint")
    n = rows if isinstance(rows, Mapping) else dict.fromkeys(new, rows)
    return [with_rows(t, n[t.name], new[t.name]) if t.name in new else t for t in tensors]


def rewrite_file(
    src: Path, dst: Path, new: Mapping[str, NewRows], rows: int | Mapping[str, int]
) -> int:
    """Copies the safetensors file `src` to `dst` with the tensors in `new` given `rows` rows; tensor
    order and metadata kept, every other tensor byte-copied. Returns the tensor data bytes."""
    metadata = read_header(src)[0].get("__metadata__")
    return write_file(dst, replace_rows(safetensors_sources(src), new, rows), metadata)
