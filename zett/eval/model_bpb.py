"""Bits per byte of a base model under any tokenizer + embedding tables (original, heuristic,
hypernet)."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from tokenizers import Tokenizer

from zett.eval.bpb import BpbResult, bits_per_byte, model_forward


def split_text(text: str, encode, max_len: int) -> list[str]:
    """Splits `text` at whitespace into pieces that encode to ≤ `max_len` tokens each (bytes
    preserved)."""
    if len(encode(text)) <= max_len:
        return [text]
    # split before the middle space (never at 0, so both halves are shorter); unspaced text is
    # halved by characters
    spaces = [i for i, c in enumerate(text) if c == " " and i > 0]
    cut = spaces[len(spaces) // 2] if spaces else len(text) // 2
    left, right = text[:cut], text[cut:]
    return split_text(left, encode, max_len) + split_text(right, encode, max_len)


def evaluate_bpb(
    model,
    tokenizer: Tokenizer,
    texts: Sequence[str],
    prefix_row: int,
    input_embeddings: np.ndarray | None = None,
    output_embeddings: np.ndarray | None = None,
    output_bias: np.ndarray | None = None,
    special_ids: Sequence[int] = (),
    max_len: int = 256,
    batch_size: int = 8,
    progress: bool = True,
) -> BpbResult:
    """Bits per byte of `model` reading `texts` through `tokenizer`.

    With tables given ([target_vocab, embed]), the model runs on them instead of its own; the source
    row `prefix_row` (its BOS, or EOS) is appended as an extra id that every text is conditioned on,
    so every method is scored on exactly the same bytes (it is an input only: the softmax runs over
    the target vocabulary). Without tables, `prefix_row` is used as is."""
    encode = lambda t: tokenizer.encode(t, add_special_tokens=False).ids  # noqa: E731
    pieces = [p for t in texts for p in split_text(t, encode, max_len)]
    overrides: dict[str, jnp.ndarray] = {}
    prefix_id, vocab_limit = prefix_row, None
    if input_embeddings is not None:
        vocab_limit = int(input_embeddings.shape[0])
        src_in = np.asarray(model.get_input_embeddings())
        e_in = np.concatenate([input_embeddings, src_in[prefix_row][None]]).astype(src_in.dtype)
        prefix_id = e_in.shape[0] - 1
        overrides["input_embeddings"] = jnp.asarray(e_in)
        if model.tied:
            if output_embeddings is not None:
                raise ValueError(
                    "the model ties its embeddings: pass no separate output embeddings"
                )
            overrides["output_embeddings"] = jnp.asarray(e_in)
        else:
            if output_embeddings is None:
                raise ValueError("the model has an untied LM head: output embeddings are needed")
            src_out = np.asarray(model.get_output_embeddings())
            overrides["output_embeddings"] = jnp.asarray(
                np.concatenate([output_embeddings, src_out[prefix_row][None]]).astype(src_out.dtype)
            )
        if output_bias is not None:
            src_bias = np.asarray(model.get_output_bias())
            overrides["output_bias"] = jnp.asarray(
                np.concatenate([output_bias, src_bias[prefix_row][None]])
            )
    forward = model_forward(model, **overrides)
    return bits_per_byte(
        forward,
        encode,
        pieces,
        prefix_id=prefix_id,
        pad_id=prefix_id,
        max_len=max_len,
        batch_size=batch_size,
        special_ids=special_ids,
        progress=progress,
        vocab_limit=vocab_limit,
    )
