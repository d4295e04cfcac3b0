"""Tokenizer-only GGUF files written with the `gguf` package the way llama.cpp's convert_hf_to_gguf.py
writes them (token list, types, scores, merges, special ids), from `tokenizers` / SentencePiece
models, for any architecture name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def write_gguf(path: Path, kv: dict[str, Any], arch: str = "gpt2", tensor: bool = False) -> Path:
    """A GGUF file with `kv` (tokenizer.ggml.* keys without the prefix for the usual ones) and no
    tensors (or one tiny one)."""
    import numpy as np

    kv = dict(kv)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_tokenizer_model(kv.pop("model"))
    if "pre" in kv:
        w.add_tokenizer_pre(kv.pop("pre"))
    w.add_token_list(kv.pop("tokens"))
    for key, add in (
        ("types", w.add_token_types),
        ("scores", w.add_token_scores),
        ("merges", w.add_token_merges),
        ("charsmap", w.add_precompiled_charsmap),
    ):
        if key in kv:
            add(kv.pop(key))
    for key, value in kv.items():
        full = key if key.startswith(("tokenizer.", "general.")) else f"tokenizer.ggml.{key}"
        if isinstance(value, bool):
            w.add_bool(full, value)
        elif isinstance(value, int):
            w.add_uint32(full, value)
        else:
            w.add_string(full, value)
    if tensor:
        w.add_tensor("dummy.weight", np.zeros((2, 2), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _added(tj: dict) -> dict[int, dict]:
    return {int(a["id"]): a for a in tj.get("added_tokens") or []}


def byte_level_bpe_kv(tokenizer, pre: str, **extra) -> dict[str, Any]:
    """convert_hf_to_gguf's `_set_vocab_gpt2`: tokens in id order, added tokens typed control
    (special) or user-defined, merges as "a b"."""
    tj = json.loads(tokenizer.to_str())
    vocab = {i: t for t, i in tj["model"]["vocab"].items()}
    added = _added(tj)
    n = max([*vocab, *added]) + 1
    tokens, types = [], []
    for i in range(n):
        if i in added:
            tokens.append(added[i]["content"])
            types.append(CONTROL if added[i]["special"] else USER_DEFINED)
        else:
            tokens.append(vocab[i])
            types.append(NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    return {
        "model": "gpt2",
        "pre": pre,
        "tokens": tokens,
        "types": types,
        "merges": merges,
        **extra,
    }


def wordpiece_kv(tokenizer, **extra) -> dict[str, Any]:
    """BertModel.set_vocab: control tokens as they are, `##x` → `x`, any other `x` → `▁x`."""
    tj = json.loads(tokenizer.to_str())
    vocab = {i: t for t, i in tj["model"]["vocab"].items()}
    added = _added(tj)
    tokens, types = [], []
    for i in range(len(vocab)):
        t = vocab[i]
        if i in added and added[i]["special"]:
            tokens.append(t)
            types.append(CONTROL)
        else:
            tokens.append(t[2:] if t.startswith("##") else "\u2581" + t)
            types.append(NORMAL)
    ids = {t: i for i, t in vocab.items()}
    return {
        "model": "bert",
        "tokens": tokens,
        "types": types,
        "bos_token_id": ids["[CLS]"],
        "seperator_token_id": ids["[SEP]"],
        "unknown_token_id": ids["[UNK]"],
        "padding_token_id": ids["[PAD]"],
        "mask_token_id": ids["[MASK]"],
        **extra,
    }


def sentencepiece_kv(model_file: Path, model: str = "t5", **extra) -> dict[str, Any]:
    """T5Model.set_vocab (model "t5") / _create_vocab_sentencepiece (model "llama"): pieces, scores
    and types from the SentencePiece model, its add_dummy_prefix / remove_extra_whitespaces /
    precompiled charsmap; "llama" stores user-defined pieces with spaces for ▁."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(Path(model_file).read_bytes())
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(UNKNOWN)
        elif sp.is_control(i):
            types.append(CONTROL)
        elif sp.is_unused(i):
            types.append(UNUSED)
        elif sp.is_byte(i):
            types.append(BYTE)
        elif proto.pieces[i].type == pb.ModelProto.SentencePiece.USER_DEFINED:
            types.append(USER_DEFINED)
            if model == "llama":
                tokens[-1] = tokens[-1].replace("\u2581", " ")
        else:
            types.append(NORMAL)
    ns = proto.normalizer_spec
    kv: dict[str, Any] = {
        "model": model,
        "pre": "default",
        "tokens": tokens,
        "scores": scores,
        "types": types,
        "add_space_prefix": ns.add_dummy_prefix,
        "remove_extra_whitespaces": ns.remove_extra_whitespaces,
        "unknown_token_id": sp.unk_id(),
        "add_bos_token": model == "llama",
        "add_eos_token": model == "t5",
    }
    if sp.eos_id() >= 0:
        kv["eos_token_id"] = sp.eos_id()
    if sp.bos_id() >= 0:
        kv["bos_token_id"] = sp.bos_id()
    if ns.precompiled_charsmap:
        kv["charsmap"] = ns.precompiled_charsmap
    return {**kv, **extra}
