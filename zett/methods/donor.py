"""A donor model (one that already uses the target tokenizer) as tables for donor methods."""

from __future__ import annotations

import numpy as np

from zett.checkpoint import resolve
from zett.heuristics.base import SourceEmbeddings
from zett.models import load_pretrained
from zett.tokenization import canonicalize, load_tokenizer


def load_donor(spec: str) -> SourceEmbeddings:
    """The donor's canonical vocabulary, input table and (untied) LM head [vocab, embed] float32,
    from an alias, HF directory, hub id or .gguf file.

    Loads the whole model through `zett.models.load_pretrained`: the donors used here (SmolLM2,
    Gemma-3-270m) are small; a reader of the embedding tensors alone can replace this later."""
    try:
        path = resolve(spec)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"donor model {spec}: {e}") from None
    model = load_pretrained(path)
    tokenizer = load_tokenizer(path)
    e_in = np.asarray(model.get_input_embeddings(), np.float32)
    e_out = None if model.tied else np.asarray(model.get_output_embeddings(), np.float32)
    return SourceEmbeddings(canonicalize(tokenizer), e_in, e_out, tokenizer=tokenizer)
