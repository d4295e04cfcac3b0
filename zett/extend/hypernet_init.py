"""`hypernet` initialisation of added tokens: the trained hypernetwork predicts their rows from their
text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Tokenizer


def hypernet_rows(
    plan, original: Tokenizer, model_dir: Path, hypernet_dir: str | Path
) -> dict[str, np.ndarray | None]:
    """{"input": [n_new, embed], "output": [n_new, embed] or None} in `new_row_ids` order.

    The hypernet is loaded and checked against the model (base-model fingerprint, tied/untied
    head) as `zett transfer --method hypernet:DIR` does, and splits each token's canonical bytes
    with the original tokenizer's own model, as in training. Rows of tokens without a textual form
    (special tokens, padding rows) are NaN here and are filled by the `average` rule afterwards."""
    from zett.checkpoint import read_tensor, tensor_shapes, vocab_tensors
    from zett.extend.checkpoint import new_row_ids
    from zett.heuristics import SourceEmbeddings
    from zett.hypernet.predict import predict_tokens
    from zett.methods import load_for_source
    from zett.tokenization import Decomposer, canonicalize, load_tokenizer, to_canonical

    shapes = tensor_shapes(model_dir)
    kinds = vocab_tensors(shapes, plan.mapping.old_size)
    by_kind = {k: n for n, k in kinds.items()}
    if "input" not in by_kind:
        raise ValueError(
            f"{model_dir}: no input embedding with {plan.mapping.old_size} rows to build the "
            f"hypernet on"
        )
    e_in = np.asarray(read_tensor(model_dir, by_kind["input"]), np.float32)
    e_out = (
        np.asarray(read_tensor(model_dir, by_kind["output"]), np.float32)
        if "output" in by_kind
        else None
    )
    loaded = load_tokenizer(original)
    source = SourceEmbeddings(canonicalize(loaded), e_in, e_out, tokenizer=loaded)
    # rows the hypernet does not predict (an input-only one on an untied model) get `average`
    hypernet = load_for_source(hypernet_dir, source, untied_head_unpredicted=True)
    if hypernet.cfg.lang_embedding:
        raise ValueError(
            f"{hypernet_dir}: was trained with language embeddings "
            f"({', '.join(hypernet.cfg.languages)}); zett extend does not pass a language yet"
        )
    texts = {i: (None if plan.special else t) for t, i in zip(plan.tokens, plan.token_ids)}
    rows = new_row_ids(plan.mapping)
    with_text = [(k, texts.get(int(r))) for k, r in enumerate(rows) if texts.get(int(r))]
    d = e_in.shape[1]
    out_in = np.full((len(rows), d), np.nan, np.float32)
    out_out = None if e_out is None else np.full((len(rows), d), np.nan, np.float32)
    if with_text:
        pred_in, pred_out, _ = predict_tokens(
            hypernet,
            Decomposer(loaded, maxlen=hypernet.cfg.surface_maxlen),
            [to_canonical(t.encode("utf-8")) for _, t in with_text],
        )
        idx = np.asarray([k for k, _ in with_text])
        out_in[idx] = pred_in
        if out_out is not None and pred_out is not None:
            out_out[idx] = pred_out
    return {"input": out_in, "output": out_out}
