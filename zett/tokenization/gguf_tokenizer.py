"""Rebuilds the tokenizer a GGUF file describes (`tokenizer.ggml.*`) as a `tokenizers.Tokenizer` that
tokenizes as llama.cpp does, plus an HF tokenizer_config; the model architecture plays no part.

Facts from llama.cpp's src/llama-vocab.cpp (`llama_vocab::impl::load` and `tokenize`): the default
special ids and add_bos/add_eos per `tokenizer.ggml.model`, tokens of type control / user-defined /
unknown are split out of the text before tokenizing (longest first), and tokens named like
end-of-turn or fill-in-the-middle markers count as control tokens whatever their stored type.

Where llama.cpp tokenizes differently from the Hugging Face tokenizer a GGUF was made from, this
follows llama.cpp: falcon keeps a space on a short number; the gpt-4o family and tekken split words
at combining marks and continue lowercase runs through any non-ASCII letter; \\p{Lu}/\\p{Ll} mean
\\p{L} (youtu, tiny_aya); qwen2 has no NFC step; deepseek-llm/-coder classes skip non-ASCII spaces;
WordPiece strips accents to the first code point of the NFD form and drops every mark (Hindi vowel
signs, Hangul vowels); Unigram has no byte fallback and normalises the text between user-defined
pieces separately; SentencePiece BPE puts the space prefix after every special token. Left over
(no `tokenizers` equivalent): overlapping special tokens (llama.cpp: longest first; here: leftmost
longest), SentencePiece pieces of equal score (llama.cpp: leftmost pair; here: lower id), a short
grapheme led by a charsmap-mapped character (Unigram; CRLF is handled), literal "<0xNN>" text under
Unigram, a space-only text between special tokens under Unigram without remove_extra_whitespaces,
unassigned code points next to the hand-written matchers' edge cases."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import AddedToken, Tokenizer, processors

from .byte_alphabet import TokenizerError
from .gguf_pre import pre_spec

# llama.cpp token types (same numbering as SentencePiece's ModelProto.SentencePiece.Type); 0 and
# anything else is "undefined"
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPIECE_SPACE = "\u2581"  # ▁
KEY = "tokenizer.ggml."

# tokens llama.cpp treats as control whatever their stored type (end of generation / turn, FIM)
_EOG_TEXTS = (
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[",
)  # fmt: skip
_FIM_TEXTS = {
    "fim_pre": ("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                "▁<PRE>", "<|code_prefix|>", "<|prefix|>"),
    "fim_suf": ("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                "▁<SUF>", "<|code_suffix|>", "<|suffix|>"),
    "fim_mid": ("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                "▁<MID>", "<|code_middle|>", "<|middle|>"),
    "fim_pad": ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"),
    "fim_rep": ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
    "fim_sep": ("<|file_sep|>",),
}  # fmt: skip
_FIM_KEYS = {"fim_pre": "prefix", "fim_suf": "suffix", "fim_mid": "middle"}  # deprecated names

# special ids llama.cpp assumes when the file names none, per tokenizer.ggml.model
_DEFAULT_IDS: dict[str, dict[str, int]] = {
    "llama": {"bos": 1, "eos": 2, "unknown": 0},
    "bert": {"bos": 101, "unknown": 100, "seperator": 102, "padding": 0, "mask": 103},
    "gpt2": {"bos": 11, "eos": 11},
    "t5": {"eos": 1, "unknown": 2, "padding": 0},
    "rwkv": {},
}
# (add_bos, add_eos) defaults per model; gpt2's depend on the pre-tokenizer
_DEFAULT_ADD = {"llama": (True, False), "bert": (True, False), "t5": (False, True), "rwkv": (False, False)}  # fmt: skip
_ROLE_OF_KEY = {"bos": "bos", "eos": "eos", "unknown": "unk", "seperator": "sep",
                "padding": "pad", "mask": "mask"}  # fmt: skip
_REFUSED = {
    "none": "the file has no vocabulary",
    "no_vocab": "the file has no vocabulary",
    "plamo2": "llama.cpp's PLaMo-2 tokenizer (integer-score Viterbi with its own tie-breaking) has no "
    "exact `tokenizers` equivalent",
    "gemma4": "SentencePiece-style BPE without byte encoding is not implemented",
    "hybriddna": "llama.cpp's DNA k-mer tokenizer has no `tokenizers` equivalent",
    "whitespace": "whitespace-split BPE without byte encoding is not implemented",
}
SUPPORTED_MODELS = ("gpt2", "llama", "bert", "t5", "rwkv")


@dataclass(frozen=True)
class GGUFVocab:
    """The vocabulary of a GGUF file as llama.cpp reads it: `tokens[i]`, `types[i]` (after its
    name-based fixes), `scores[i]`, the model kind, special ids by key name and add flags."""

    kind: str
    tokens: list[str]
    types: np.ndarray  # [n] int64
    scores: np.ndarray  # [n] float32
    ids: dict[str, int]  # "bos", "eos", "unknown", "seperator", "padding", "mask" → id
    add_bos: bool
    add_eos: bool
    meta: Mapping[str, Any]
    source: str
    strips: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)  # text → (lstrip, rstrip)

    def flag(self, name: str, default: bool) -> bool:
        v = self.meta.get(KEY + name)
        return default if v is None else bool(v)

    def token(self, key: str) -> str | None:
        i = self.ids.get(key)
        return None if i is None else self.tokens[i]

    def added_tokens(self, user_defined: list[str] | None = None) -> list[AddedToken]:
        """Control and unknown tokens → special added tokens; user-defined tokens (or `user_defined`
        in their place) → plain added tokens; all matched on the raw text, as llama.cpp does."""
        out = []
        for i in np.flatnonzero((self.types == CONTROL) | (self.types == UNKNOWN)):
            out.append(self._added(self.tokens[i], True))
        user = [self.tokens[i] for i in np.flatnonzero(self.types == USER_DEFINED)]
        for t in user if user_defined is None else user_defined:
            out.append(self._added(t, False))
        return out

    def _added(self, text: str, special: bool) -> AddedToken:
        lstrip, rstrip = self.strips.get(text, (False, False))
        return AddedToken(text, special=special, normalized=False, lstrip=lstrip, rstrip=rstrip)


@dataclass
class GGUFTokenizer:
    """A tokenizer rebuilt from GGUF metadata, ready to be saved in Hugging Face layout.

    `roles` maps bos/eos/unk/sep/pad/mask to ids; `sp_model` is a serialised SentencePiece
    ModelProto for `llama` (SentencePiece) vocabularies, else None."""

    tokenizer: Tokenizer
    tokenizer_config: dict[str, Any]
    sp_model: bytes | None = None
    special_tokens_map: dict[str, str] = field(default_factory=dict)
    roles: dict[str, int] = field(default_factory=dict)

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
        # not at module top: zett.checkpoint imports zett.tokenization (GGUF checkpoints)
        from zett.checkpoint.atomic import write_atomic

        return [write_atomic(out / name, data) for name, data in files.items()]


def _array(meta: Mapping[str, Any], key: str, n: int, dtype, source: str) -> np.ndarray | None:
    v = meta.get(KEY + key)
    if v is None:
        return None
    try:
        a = np.asarray(v, dtype=dtype).reshape(-1)
    except (TypeError, ValueError):
        raise TokenizerError(f"{source}: {KEY}{key} is not a numeric array") from None
    if len(a) < n:
        raise TokenizerError(f"{source}: {KEY}{key} has {len(a)} entries for {n} tokens")
    return a[:n]


def read_vocab(meta: Mapping[str, Any], source: str = "GGUF") -> GGUFVocab:
    """`meta`: the GGUF key/values (at least `tokenizer.ggml.*`; `general.name` for one fix-up)."""
    kind = meta.get(KEY + "model")
    if kind is None:
        if not any(k.startswith("tokenizer.") for k in meta):
            raise TokenizerError(f"{source}: the GGUF file has no tokenizer metadata")
        raise TokenizerError(f"{source}: {KEY}model is missing")
    if kind in _REFUSED:
        raise TokenizerError(
            f"{source}: tokenizer model {kind!r} is not supported ({_REFUSED[kind]})"
        )
    if kind not in SUPPORTED_MODELS:
        raise TokenizerError(
            f"{source}: unknown tokenizer model {kind!r} (zett reads {', '.join(SUPPORTED_MODELS)})"
        )
    raw = meta.get(KEY + "tokens")
    if raw is None or len(raw) == 0:
        raise TokenizerError(f"{source}: {KEY}tokens is missing or empty")
    if not all(isinstance(t, str) for t in raw):
        raise TokenizerError(f"{source}: {KEY}tokens is not an array of strings")
    # llama.cpp names empty tokens instead of refusing them
    tokens = [t if t else f"[EMPTY_{i}]" for i, t in enumerate(raw)]
    n = len(tokens)
    seen: dict[str, int] = {}
    for i, t in enumerate(tokens):
        if t in seen:
            raise TokenizerError(f"{source}: token {t!r} appears twice (ids {seen[t]} and {i})")
        seen[t] = i
    scores = _array(meta, "scores", n, np.float32, source)
    scores = np.zeros(n, np.float32) if scores is None else scores
    types = _array(meta, "token_type", n, np.int64, source)
    types = np.full(n, NORMAL, np.int64) if types is None else types.copy()
    types[(types < NORMAL) | (types > BYTE)] = 0

    ids = {k: v for k, v in _DEFAULT_IDS[kind].items() if v < n}
    if kind == "gpt2":
        spec = pre_spec(meta.get(KEY + "pre"), source)
        if spec.no_bos:  # drops the default only: an id in the file still counts
            ids.pop("bos", None)
        add_bos, add_eos = spec.add_bos, False
    else:
        add_bos, add_eos = _DEFAULT_ADD[kind]
    for key in ("bos", "eos", "unknown", "seperator", "padding", "mask"):
        v = meta.get(f"{KEY}{key}_token_id")
        if v is not None and 0 <= int(v) < n:  # llama.cpp keeps the default for a bad id
            ids[key] = int(v)
    v = meta.get(KEY + "add_bos_token")
    add_bos = add_bos if v is None else bool(v)
    v = meta.get(KEY + "add_eos_token")
    add_eos = add_eos if v is None else bool(v)
    if kind == "bert":  # llama.cpp frames all WordPiece input with bos ([CLS]) and sep ([SEP])
        if "bos" not in ids or "seperator" not in ids:
            raise TokenizerError(f"{source}: WordPiece vocabulary without bos/sep token ids")
    else:
        for flag, key in ((add_bos, "bos"), (add_eos, "eos")):
            if flag and key not in ids:
                raise TokenizerError(
                    f"{source}: {KEY}add_{key}_token is true but {KEY}{key}_token_id is not set"
                )
    _fix_types(tokens, types, meta)
    vocab = GGUFVocab(kind, tokens, types, scores, ids, add_bos, add_eos, meta, source)
    return replace(vocab, strips=special_strips(vocab))


def _fix_types(tokens: list[str], types: np.ndarray, meta: Mapping[str, Any]) -> None:
    """llama.cpp's load-time retyping of tokens by their text (in its order)."""
    index = {t: i for i, t in enumerate(tokens)}

    def force_control(texts) -> None:
        for t in texts:
            i = index.get(t)
            if i is not None:
                types[i] = CONTROL

    force_control(_EOG_TEXTS)
    for name, texts in _FIM_TEXTS.items():
        alt = _FIM_KEYS.get(name)
        if meta.get(f"{KEY}{name}_token_id") is None and (
            alt is None or meta.get(f"{KEY}{alt}_token_id") is None
        ):
            force_control(texts)
    for t in ("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"):  # gpt-oss
        if t in index:
            types[index[t]] = USER_DEFINED
    has = set(index)
    if "<|end|>" in has and (
        {"<|return|>", "<|call|>"} <= has or {"<|calls|>", "<|flush|>"} <= has
    ):
        types[index["<|end|>"]] = USER_DEFINED
    if "</s>" in has and "<|tool_response>" in has:
        types[index["</s>"]] = NORMAL


def special_strips(vocab: GGUFVocab) -> dict[str, tuple[bool, bool]]:
    """Special tokens llama.cpp strips whitespace around, by model name / pre-tokenizer (text →
    (lstrip, rstrip))."""
    name = str(vocab.meta.get("general.name") or "").lower()
    pre = str(vocab.meta.get(KEY + "pre") or "")
    arch = str(vocab.meta.get("general.architecture") or "")
    if any(p in pre for p in ("jina-v2-de", "jina-v2-es", "jina-v2-code")) or any(
        a in arch for a in ("nomic-bert-moe", "jina-bert-v3")
    ):
        return {"<mask>": (True, False)}
    if "phi-3" in name or "phi3" in name:
        special = np.flatnonzero(np.isin(vocab.types, (CONTROL, USER_DEFINED, UNKNOWN)))
        out = {vocab.tokens[i]: (False, True) for i in special}
        out["</s>"] = (False, True)
        for t in ("<unk>", "<s>", "<|endoftext|>"):
            out[t] = (False, False)
        return out
    if "modern-bert" in name:
        return {"[MASK]": (True, False)}
    return {}


def _post_processor(vocab: GGUFVocab) -> processors.PostProcessor | None:
    """bos … eos as llama.cpp adds them (WordPiece: always bos … sep)."""
    wpm = vocab.kind == "bert"
    end_key = "seperator" if wpm else "eos"
    bos = (vocab.token("bos"), vocab.ids["bos"]) if vocab.add_bos or wpm else None
    end = (vocab.token(end_key), vocab.ids[end_key]) if vocab.add_eos or wpm else None
    if bos is None and end is None:
        return None
    single, pair = ["$A:0"], ["$A:0"]
    if bos:
        single.insert(0, f"{bos[0]}:0")
        pair.insert(0, f"{bos[0]}:0")
    if end:
        single.append(f"{end[0]}:0")
        pair.append(f"{end[0]}:0")
    pair.append("$B:1")
    if end:
        pair.append(f"{end[0]}:1")
    specials = list(dict.fromkeys(x for x in (bos, end) if x))
    return processors.TemplateProcessing(single=single, pair=pair, special_tokens=specials)


def tokenizer_from_gguf(meta: Mapping[str, Any], source: str = "GGUF") -> GGUFTokenizer:
    """`meta`: the GGUF key/values (`tokenizer.ggml.*`, `tokenizer.chat_template`, `general.name`,
    `context_length`)."""
    from . import gguf_models  # it builds on this module's vocabulary reader: a cycle at the top

    vocab = read_vocab(meta, source)
    tok, sp_model = gguf_models.BUILDERS[vocab.kind](vocab)
    post = _post_processor(vocab)
    if vocab.kind == "gpt2":
        # HF byte-level tokenizers carry a ByteLevel post-processor (offsets only); keep both
        byte_level = processors.ByteLevel(trim_offsets=False)
        tok.post_processor = byte_level if post is None else processors.Sequence([byte_level, post])
    elif post is not None:
        tok.post_processor = post

    # llama.cpp's fallback ids (bos = eos = 11 for gpt2) name a role only where they hit a control
    # token: declaring an ordinary token special would change how transformers splits text
    roles = {
        _ROLE_OF_KEY[k]: i
        for k, i in vocab.ids.items()
        if meta.get(f"{KEY}{k}_token_id") == i or vocab.types[i] in (CONTROL, UNKNOWN)
    }
    named = {f"{role}_token": vocab.tokens[i] for role, i in roles.items()}
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": vocab.add_bos,
        "add_eos_token": vocab.add_eos,
        "clean_up_tokenization_spaces": False,
        **named,
    }
    if vocab.kind == "llama":
        config["add_prefix_space"] = vocab.flag("add_space_prefix", True)
        config["spaces_between_special_tokens"] = False
    ctx = meta.get("context_length")
    if ctx:
        config["model_max_length"] = int(ctx)
    if meta.get("tokenizer.chat_template"):
        config["chat_template"] = meta["tokenizer.chat_template"]
    return GGUFTokenizer(
        tokenizer=tok,
        tokenizer_config=config,
        sp_model=sp_model,
        special_tokens_map=named,
        roles=roles,
    )
