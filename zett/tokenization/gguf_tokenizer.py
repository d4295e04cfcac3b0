"""Rebuilds a model's tokenizer (tokenizers + SentencePiece + HF tokenizer_config) from GGUF
metadata."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

# llama.cpp token types (same numbering as SentencePiece's ModelProto.SentencePiece.Type)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPIECE_SPACE = "\u2581"  # ▁

# llama.cpp's split regexes (llama-vocab.cpp) for pre-tokenizers that ByteLevel's GPT-2 regex does
# not cover
_LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"  # noqa: E501
_QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"  # noqa: E501


def _byte_level_pre_tokenizer(pre: str) -> pre_tokenizers.PreTokenizer:
    """The pre-tokenizer of HF's tokenizer.json for llama.cpp's `tokenizer.ggml.pre` value."""
    if pre in ("smollm", "starcoder", "refact", "codeshell", "command-r", "exaone", "minerva-7b"):
        # llama.cpp: "\p{N}" split first, then the GPT-2 regex == HF Digits(individual) + ByteLevel
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False),
            ]
        )
    if pre in ("default", "gpt-2", "gpt2"):
        return pre_tokenizers.ByteLevel(add_prefix_space=False)
    if pre in ("llama-bpe", "llama3", "smaug-bpe"):
        split = pre_tokenizers.Split(Regex(_LLAMA3_PATTERN), behavior="isolated")
        return pre_tokenizers.Sequence(
            [split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
    if pre == "qwen2":
        split = pre_tokenizers.Split(Regex(_QWEN2_PATTERN), behavior="isolated")
        return pre_tokenizers.Sequence(
            [split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
    raise ValueError(
        f"GGUF byte-level tokenizer with pre-tokenizer {pre!r} is not supported "
        "(known: smollm/starcoder, gpt-2, llama-bpe, qwen2)"
    )


@dataclass
class GGUFTokenizer:
    """A tokenizer rebuilt from GGUF metadata, ready to be saved in Hugging Face layout.

    `sp_model` is a serialised SentencePiece ModelProto for SentencePiece-family models (else None).
    """

    tokenizer: Tokenizer
    tokenizer_config: dict[str, Any]
    sp_model: bytes | None = None
    special_tokens_map: dict[str, str] = field(default_factory=dict)

    def sentencepiece(self):
        """A `sentencepiece.SentencePieceProcessor` on `sp_model` (SentencePiece models only)."""
        if self.sp_model is None:
            raise ValueError("this tokenizer is not a SentencePiece model")
        import sentencepiece as spm

        return spm.SentencePieceProcessor(model_proto=self.sp_model)

    def save(self, out_dir: str | os.PathLike) -> list[Path]:
        """Writes tokenizer.json, tokenizer_config.json, special_tokens_map.json (+
        tokenizer.model)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "tokenizer.json": self.tokenizer.to_str().encode("utf-8"),
            "tokenizer_config.json": json.dumps(
                self.tokenizer_config, indent=2, ensure_ascii=False
            ).encode("utf-8"),
            "special_tokens_map.json": json.dumps(
                self.special_tokens_map, indent=2, ensure_ascii=False
            ).encode(),
        }
        if self.sp_model is not None:
            files["tokenizer.model"] = self.sp_model
        written = []
        for name, data in files.items():
            written.append(_atomic_write(out / name, data))
        return written


def _atomic_write(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _check_unique(tokens: list[str], source: str) -> None:
    if len(set(tokens)) != len(tokens):
        seen: dict[str, int] = {}
        for i, t in enumerate(tokens):
            if t in seen:
                raise ValueError(f"{source}: token {t!r} appears twice (ids {seen[t]} and {i})")
            seen[t] = i


def _added_tokens(
    tokens: list[str], types: np.ndarray, normalized_user_defined: bool
) -> list[AddedToken]:
    """Control tokens → special added tokens; user-defined tokens → plain added tokens (matched
    first)."""
    out = []
    for i in np.flatnonzero((types == CONTROL) | (types == USER_DEFINED) | (types == UNKNOWN)):
        special = int(types[i]) != USER_DEFINED
        normalized = normalized_user_defined and not special
        out.append(AddedToken(tokens[i], special=special, normalized=normalized))
    return out


def _post_processor(
    add_bos: bool, add_eos: bool, bos: tuple[str, int] | None, eos: tuple[str, int] | None
) -> processors.PostProcessor | None:
    single, pair, specials = ["$A"], ["$A:0"], []
    if add_bos and bos is not None:
        single, pair = [f"{bos[0]}:0", *single], [f"{bos[0]}:0", *pair, f"{bos[0]}:1"]
        specials.append(bos)
    if add_eos and eos is not None:
        single, pair = [*single, f"{eos[0]}:0"], [*pair, f"{eos[0]}:0"]
        specials.append(eos)
    pair.append("$B:1")
    if add_eos and eos is not None:
        pair.append(f"{eos[0]}:1")
    if not specials:
        return None
    return processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=list(dict.fromkeys(specials))
    )


def _byte_level_bpe(
    meta: dict[str, Any], tokens: list[str], types: np.ndarray, source: str
) -> Tokenizer:
    merges_raw = meta.get("tokenizer.ggml.merges")
    if merges_raw is None or len(merges_raw) == 0:
        raise ValueError(f"{source}: byte-level BPE tokenizer without tokenizer.ggml.merges")
    merges = []
    for m in merges_raw:
        left, sep, right = m.partition(" ")
        if not sep:
            raise ValueError(f"{source}: malformed merge {m!r}")
        merges.append((left, right))
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab, merges, dropout=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = _byte_level_pre_tokenizer(meta.get("tokenizer.ggml.pre", "default"))
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(_added_tokens(tokens, types, normalized_user_defined=False))
    return tok


def sentencepiece_proto(
    meta: dict[str, Any], tokens: list[str], scores: np.ndarray, types: np.ndarray
) -> bytes:
    """A SentencePiece BPE ModelProto equivalent to the model llama.cpp converted from.

    llama.cpp's converter stored user-defined pieces with "▁" turned into spaces and retyped `<unk>`
    as a control token (from HF's added_tokens); both are undone here, else SentencePiece would not
    match multi-space pieces or would refuse a model without an unknown piece."""
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    unk_id = meta.get("tokenizer.ggml.unknown_token_id")
    add_prefix = bool(meta.get("tokenizer.ggml.add_space_prefix", True))
    proto = sp_pb2.ModelProto()
    for i, (piece, score, ty) in enumerate(zip(tokens, scores.tolist(), types.tolist())):
        sp = proto.pieces.add()
        sp.piece = piece
        sp.score = score
        sp.type = UNKNOWN if i == unk_id else int(ty)
    trainer = proto.trainer_spec
    trainer.model_type = sp_pb2.TrainerSpec.BPE
    trainer.vocab_size = len(tokens)
    trainer.byte_fallback = bool((types == BYTE).any())
    trainer.split_digits = True
    trainer.allow_whitespace_only_pieces = True
    trainer.treat_whitespace_as_suffix = False
    for key, attr in (("unknown", "unk"), ("bos", "bos"), ("eos", "eos"), ("padding", "pad")):
        tid = meta.get(f"tokenizer.ggml.{key}_token_id")
        setattr(trainer, f"{attr}_id", -1 if tid is None else int(tid))
        if tid is not None:
            setattr(trainer, f"{attr}_piece", tokens[int(tid)])
    norm = proto.normalizer_spec
    norm.name = "identity"
    norm.precompiled_charsmap = b""
    norm.add_dummy_prefix = add_prefix
    norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = True
    return proto.SerializeToString()


def sentencepiece_merges(
    tokens: list[str], scores: np.ndarray, types: np.ndarray
) -> list[tuple[str, str]]:
    """BPE merges that make `tokenizers`' BPE reproduce SentencePiece BPE segmentation.

    SentencePiece merges the adjacent pair whose concatenation is the highest-scoring normal piece
    (leftmost on ties); every split of a normal piece into two normal pieces is such a pair, ranked
    by the merged piece's score. User-defined / control / byte pieces never take part in merges."""
    normal = np.flatnonzero(types == NORMAL)
    ids = {tokens[i]: int(i) for i in normal}
    # ranks: higher score first, then lower id (stable)
    order = normal[np.lexsort((normal, -scores[normal]))]
    merges: list[tuple[str, str]] = []
    for i in order.tolist():
        piece = tokens[i]
        if len(piece) < 2:
            continue
        splits = [
            (piece[:k], piece[k:])
            for k in range(1, len(piece))
            if piece[:k] in ids and piece[k:] in ids
        ]
        # several splits give the same piece: the order among them cannot change the outcome
        splits.sort(key=lambda lr: (ids[lr[0]], ids[lr[1]]))
        merges.extend(splits)
    return merges


def _sentencepiece_bpe(
    meta: dict[str, Any], tokens: list[str], scores: np.ndarray, types: np.ndarray
) -> Tokenizer:
    add_prefix = bool(meta.get("tokenizer.ggml.add_space_prefix", True))
    vocab = {t: i for i, t in enumerate(tokens)}
    unk_id = meta.get("tokenizer.ggml.unknown_token_id")
    unk = tokens[int(unk_id)] if unk_id is not None else None
    bpe = models.BPE(
        vocab,
        sentencepiece_merges(tokens, scores, types),
        dropout=None,
        unk_token=unk,
        fuse_unk=True,
        byte_fallback=bool((types == BYTE).any()),
    )
    tok = Tokenizer(bpe)
    steps = [normalizers.Replace(" ", SPIECE_SPACE)]
    if add_prefix:
        steps.insert(0, normalizers.Prepend(SPIECE_SPACE))
    tok.normalizer = normalizers.Sequence(steps)
    dec = [decoders.Replace(SPIECE_SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(dec)
    # user-defined pieces are matched on the normalised text, as SentencePiece's prefix matcher does
    tok.add_special_tokens([t for t in _added_tokens(tokens, types, True) if t.special])
    tok.add_tokens([t for t in _added_tokens(tokens, types, True) if not t.special])
    return tok


def tokenizer_from_gguf(meta: dict[str, Any], source: str = "GGUF") -> GGUFTokenizer:
    """`meta`: the GGUF key/values (`tokenizer.ggml.*`, `tokenizer.chat_template`, context length)."""
    kind = meta.get("tokenizer.ggml.model")
    tokens = list(meta.get("tokenizer.ggml.tokens", []))
    if not tokens:
        raise ValueError(f"{source}: no tokenizer.ggml.tokens in the metadata")
    types = meta.get("tokenizer.ggml.token_type")
    types = (
        np.full(len(tokens), NORMAL, np.int64)
        if types is None
        else np.asarray(types, dtype=np.int64)
    )
    scores = meta.get("tokenizer.ggml.scores")
    scores = (
        np.zeros(len(tokens), np.float32)
        if scores is None
        else np.asarray(scores, dtype=np.float32)
    )
    if not (len(types) == len(scores) == len(tokens)):
        raise ValueError(
            f"{source}: tokens/scores/token_type lengths differ ({len(tokens)}, {len(scores)}, "
            f"{len(types)})"
        )
    if kind == "gpt2":
        _check_unique(tokens, source)
        tok = _byte_level_bpe(meta, tokens, types, source)
        sp_model = None
        tokenizer_class = "PreTrainedTokenizerFast"
    elif kind == "llama":
        tokens = [
            t.replace(" ", SPIECE_SPACE) if ty == USER_DEFINED else t
            for t, ty in zip(tokens, types.tolist())
        ]
        _check_unique(tokens, source)
        sp_model = sentencepiece_proto(meta, tokens, scores, types)
        tok = _sentencepiece_bpe(meta, tokens, scores, types)
        tokenizer_class = "PreTrainedTokenizerFast"
    else:
        raise ValueError(
            f"{source}: tokenizer model {kind!r} is not supported (known: gpt2, llama)"
        )

    add_bos = bool(meta.get("tokenizer.ggml.add_bos_token", kind == "llama"))
    add_eos = bool(meta.get("tokenizer.ggml.add_eos_token", False))
    named = {}
    for key, name in (
        ("bos", "bos_token"),
        ("eos", "eos_token"),
        ("unknown", "unk_token"),
        ("padding", "pad_token"),
    ):
        tid = meta.get(f"tokenizer.ggml.{key}_token_id")
        if tid is not None:
            if not 0 <= int(tid) < len(tokens):
                raise ValueError(
                    f"{source}: tokenizer.ggml.{key}_token_id={tid} is outside the vocabulary"
                )
            named[name] = tokens[int(tid)]
    bos = (named["bos_token"], tokens.index(named["bos_token"])) if "bos_token" in named else None
    eos = (named["eos_token"], tokens.index(named["eos_token"])) if "eos_token" in named else None
    post = _post_processor(add_bos, add_eos, bos, eos)
    if kind == "gpt2":
        # HF byte-level tokenizers carry a ByteLevel post-processor (offsets only); keep both
        byte_level = processors.ByteLevel(trim_offsets=False)
        tok.post_processor = byte_level if post is None else processors.Sequence([byte_level, post])
    elif post is not None:
        tok.post_processor = post

    config: dict[str, Any] = {
        "tokenizer_class": tokenizer_class,
        "add_bos_token": add_bos,
        "add_eos_token": add_eos,
        "clean_up_tokenization_spaces": False,
        **named,
    }
    if kind == "llama":
        config["add_prefix_space"] = bool(meta.get("tokenizer.ggml.add_space_prefix", True))
        config["spaces_between_special_tokens"] = False
    ctx = meta.get("context_length")
    if ctx:
        config["model_max_length"] = int(ctx)
    if meta.get("tokenizer.chat_template"):
        config["chat_template"] = meta["tokenizer.chat_template"]
    return GGUFTokenizer(
        tokenizer=tok, tokenizer_config=config, sp_model=sp_model, special_tokens_map=named
    )
