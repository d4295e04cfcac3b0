"""Bits per byte of a base model under any tokenizer + embedding tables (original, heuristic,
hypernet), under the scoring protocol of `zett.eval.protocol`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from tokenizers import Tokenizer, models

from zett.eval.bpb import BpbResult, ScoreFn, bits_per_byte, token_nll
from zett.eval.protocol import DEFAULT_PROTOCOL, ScoringProtocol

# logits computed for this many (row, position) pairs at a time: [chunk, vocab] fp32 stays ≲ 256 MB
_LOGIT_BUDGET = 64 * 1024 * 1024


def with_conditioning_row(
    model,
    prefix_row: int,
    input_embeddings: np.ndarray | None = None,
    output_embeddings: np.ndarray | None = None,
    output_bias: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """(tables with the source row `prefix_row` appended as one extra input-only row, vocab_limit).

    Without tables the model's own are used, so the original model goes through exactly the path
    every transfer does."""
    src_in = np.asarray(model.get_input_embeddings())
    if input_embeddings is None:
        if output_embeddings is not None or output_bias is not None:
            raise ValueError("output tables without input embeddings: pass all or none")
        input_embeddings = src_in
        output_embeddings = None if model.tied else np.asarray(model.get_output_embeddings())
        bias = model.get_output_bias()
        output_bias = None if bias is None else np.asarray(bias)
    vocab_limit = int(input_embeddings.shape[0])
    tables = {
        "input": np.concatenate([input_embeddings, src_in[prefix_row][None]]).astype(src_in.dtype)
    }
    if model.tied:
        if output_embeddings is not None:
            raise ValueError("the model ties its embeddings: pass no separate output embeddings")
        tables["output"] = tables["input"]
    else:
        if output_embeddings is None:
            raise ValueError("the model has an untied LM head: output embeddings are needed")
        src_out = np.asarray(model.get_output_embeddings())
        tables["output"] = np.concatenate([output_embeddings, src_out[prefix_row][None]]).astype(
            src_out.dtype
        )
    if output_bias is not None:
        src_bias = np.asarray(model.get_output_bias())
        tables["bias"] = np.concatenate([output_bias, src_bias[prefix_row][None]])
    return tables, vocab_limit


@partial(jax.jit, static_argnames=("graphdef", "vocab_limit", "chunk"))
def _score_rows(
    graphdef, state, tables, ids, mask, targets, positions, n_scored, *, vocab_limit, chunk
):
    """Σ nll [rows] of the targets at flat `positions[:n_scored]` (row * width + column); the LM
    head runs on `chunk` of them at a time, and only as many chunks as there are scored positions
    (context and padding positions never reach it)."""
    m = nnx.merge(graphdef, state)
    hidden, _ = m.encode(m.embed(ids, tables["input"]), mask)
    rows, width, embed = hidden.shape
    flat, flat_targets = hidden.reshape(rows * width, embed), targets.reshape(-1)

    def body(i, acc):
        pos = jax.lax.dynamic_slice(positions, (i * chunk,), (chunk,))
        valid = (i * chunk + jnp.arange(chunk)) < n_scored
        logits = m.logits_from_hidden(flat[pos][None], tables["output"], tables.get("bias"))[0]
        nll = token_nll(logits, flat_targets[pos], valid.astype(jnp.float32), vocab_limit)
        return acc.at[pos // width].add(nll)

    n_chunks = (n_scored + chunk - 1) // chunk
    return jax.lax.fori_loop(0, n_chunks, body, jnp.zeros((rows,), jnp.float32))


def model_scorer(model, tables: dict[str, np.ndarray], vocab_limit: int) -> ScoreFn:
    """A ScoreFn running `model` on `tables` (input/output/bias). Compiled once per model, vocabulary
    size and window shape, so the methods of one (model, tokenizer) pair share compilations."""
    graphdef, state = nnx.split(model)
    chunk = max(64, 2 ** int(np.log2(max(_LOGIT_BUDGET // vocab_limit, 1))))
    device_tables = {k: jnp.asarray(v) for k, v in tables.items()}

    def score(ids, mask, targets, weights):
        flat = np.flatnonzero(np.asarray(weights).reshape(-1) > 0)
        step = min(chunk, 1 << (ids.size - 1).bit_length())
        positions = np.zeros(-(-ids.size // step) * step, np.int32)
        positions[: flat.size] = flat
        return _score_rows(
            graphdef,
            state,
            device_tables,
            jnp.asarray(ids),
            jnp.asarray(mask),
            jnp.asarray(targets),
            jnp.asarray(positions),
            jnp.int32(flat.size),
            vocab_limit=vocab_limit,
            chunk=step,
        )

    return score


def evaluate_bpb(
    model,
    tokenizer: Tokenizer,
    texts: Sequence[str],
    prefix_row: int,
    input_embeddings: np.ndarray | None = None,
    output_embeddings: np.ndarray | None = None,
    output_bias: np.ndarray | None = None,
    special_ids: Sequence[int] = (),
    unk_id: int | None = None,
    protocol: ScoringProtocol = DEFAULT_PROTOCOL,
    progress: bool = True,
) -> BpbResult:
    """Bits per byte of `model` reading `texts` through `tokenizer` under `protocol`.

    With tables given ([target_vocab, embed]) the model runs on them instead of its own. Either
    way the source row `prefix_row` (its BOS, or EOS) is appended as an extra input-only row that
    every window is conditioned on (the softmax runs over the tokenizer's vocabulary only).
    `special_ids` / `unk_id` (default: the tokenizer's `<unk>`, if any) label tokens for the byte
    counts; every token is scored."""
    tables, vocab_limit = with_conditioning_row(
        model, prefix_row, input_embeddings, output_embeddings, output_bias
    )
    if unk_id is None:
        unk_id = unk_token_id(tokenizer)
    return bits_per_byte(
        model_scorer(model, tables, vocab_limit),
        tokenizer,
        texts,
        prefix_id=vocab_limit,
        protocol=protocol,
        unk_id=unk_id,
        special_ids=special_ids,
        progress=progress,
        max_positions=getattr(model.config, "max_position_embeddings", None),
    )


def unk_token_id(tokenizer: Tokenizer) -> int | None:
    """The id the tokenizer's model emits for unknown text (BPE/WordPiece `unk_token`, Unigram
    `unk_id`), or None."""
    model = tokenizer.model
    if isinstance(model, models.Unigram):  # keeps its unk id only in the serialised form
        return json.loads(tokenizer.to_str())["model"].get("unk_id")
    unk = getattr(model, "unk_token", None)
    return tokenizer.token_to_id(unk) if isinstance(unk, str) and unk else None
