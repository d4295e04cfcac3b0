"""Byte-level conversion: the source tokenization model rewritten over canonical byte strings, and a
full byte-level tokenizer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tokenizers import Tokenizer

from .byte_alphabet import BYTE_TO_CHAR, TokenizerError, from_canonical
from .canonical import BYTE_PIECE, SPIECE, CanonicalVocab, canonicalize_json, piece_to_canonical
from .load import load_tokenizer

HELPER = (
    "\u2400"  # outside the byte alphabet: entries keyed with it can never match canonical input
)
_BYTE_PENALTY = 10.0  # SentencePiece's unknown-piece penalty below the lowest score


@dataclass(frozen=True)
class ByteLevelModel:
    """A `tokenizers` model (as JSON) over canonical strings with the source's ids.

    Fallback ids `size + byte` exist when built with `fallback=True`; `helpers` maps ids ≥ `size +
    256` of internal merge steps (partial UTF-8 characters) to the byte ids they stand for."""

    model: dict[str, Any]
    size: int
    helpers: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    unk_id: int | None = None


def _byte_ids(canon: CanonicalVocab, fallback: bool) -> list[int | None]:
    """Id that stands for each single byte: the source's own token if any, else the fallback id (or
    None)."""
    out: list[int | None] = []
    for b, c in enumerate(BYTE_TO_CHAR):
        i = canon.id_of(c)
        out.append(i if i is not None else (canon.size + b if fallback else None))
    return out


def _is_one_char(t: str) -> bool:
    """Whether canonical `t` spells exactly one multi-byte UTF-8 character."""
    try:
        return len(from_canonical(t).decode("utf-8")) == 1
    except UnicodeDecodeError:
        return False


def _bpe(model: Mapping[str, Any], canon: CanonicalVocab, fallback: bool) -> ByteLevelModel:
    kind = canon.kind
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        raise TokenizerError(
            "BPE with a continuing-subword prefix or end-of-word suffix is not supported"
        )
    byte_fallback = bool(model.get("byte_fallback")) or bool(canon.shadowed) or kind == "metaspace"
    vocab: dict[str, int] = {t: i for t, i in canon._index.items()}
    byte_ids = _byte_ids(canon, fallback)
    for b, i in enumerate(byte_ids):
        if i is not None and BYTE_TO_CHAR[b] not in vocab:
            vocab[BYTE_TO_CHAR[b]] = i
    merges: list[list[str]] = []
    helpers: dict[int, tuple[int, ...]] = {}
    if kind != "byte_level":
        # The original merges characters; bytes must first become the characters the vocabulary
        # knows. Such assembly merges rank before every real merge and only ever join bytes of one
        # UTF-8 character.
        next_id = canon.size + 256
        chars = sorted(t for t in vocab if 2 <= len(t) <= 4 and _is_one_char(t))
        steps: dict[int, list[list[str]]] = {}
        for t in chars:
            for k in range(2, len(t) + 1):
                steps.setdefault(k, []).append([t[: k - 1], t[k - 1]])
                if t[:k] not in vocab:
                    vocab[t[:k]] = next_id
                    helpers[next_id] = tuple(byte_ids[from_canonical(c)[0]] for c in t[:k])  # type: ignore[misc]
                    next_id += 1
        seen: set[tuple[str, str]] = set()
        for k in sorted(steps):
            for a, b in steps[k]:
                if (a, b) not in seen:
                    seen.add((a, b))
                    merges.append([a, b])
    # Merge parts are vocabulary pieces: look their canonical form up by id instead of converting 1M
    # strings.
    ids = model.get("vocab") or {}
    tokens = canon.tokens

    def conv(p: str) -> str:
        i = ids.get(p)
        t = tokens[i] if i is not None and i < len(tokens) else ""
        return t or piece_to_canonical(p, kind, byte_fallback)

    for m in model.get("merges") or []:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        merges.append([conv(a), conv(b)])
    out = {
        "type": "BPE",
        "dropout": None,
        "unk_token": None,
        "continuing_subword_prefix": None,
        "end_of_word_suffix": None,
        "fuse_unk": False,
        "byte_fallback": False,
        "ignore_merges": bool(model.get("ignore_merges", False)),
        "vocab": vocab,
        "merges": merges,
    }
    return ByteLevelModel(out, canon.size, helpers)


def _unigram(model: Mapping[str, Any], canon: CanonicalVocab, fallback: bool) -> ByteLevelModel:
    pieces = model["vocab"]
    scores = [float(s) for _, s in pieces]
    low = min(scores) if scores else 0.0
    byte_score, dead = low - _BYTE_PENALTY, low - 1e4
    special = set(canon.special_ids)
    vocab: list[list[Any]] = []
    for i, t in enumerate(canon.tokens):
        if i in special or i in canon.shadowed:
            vocab.append([f"{HELPER}{i}", dead])
        elif i < len(pieces) and len(t) == 1 and BYTE_PIECE.match(pieces[i][0]):
            vocab.append(
                [t, byte_score]
            )  # byte-fallback piece: only where nothing else fits, as in SentencePiece
        else:
            vocab.append([t, scores[i] if i < len(pieces) else 0.0])
    if fallback:
        for b, c in enumerate(BYTE_TO_CHAR):
            vocab.append([c, byte_score] if canon.id_of(c) is None else [f"{HELPER}fb{b}", dead])
    unk_id = model.get("unk_id")
    if unk_id is None:  # tokenizers' Unigram wants an unknown id to fall back on
        vocab.append([f"{HELPER}unk", dead])
        unk_id = len(vocab) - 1
    out = {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": False}
    return ByteLevelModel(out, canon.size, {}, unk_id)


def _greedy(canon: CanonicalVocab, fallback: bool, unk_id: int | None) -> ByteLevelModel:
    """Longest-match-first over canonical strings (WordPiece's rule with `##` folded into the
    bytes)."""
    vocab: dict[str, int] = dict(canon._index)
    for b, i in enumerate(_byte_ids(canon, fallback)):
        if i is not None:
            vocab.setdefault(BYTE_TO_CHAR[b], i)
    unk_key = f"{HELPER}unk"
    vocab[unk_key] = unk_id if unk_id is not None else canon.size + 256
    out = {
        "type": "WordPiece",
        "unk_token": unk_key,
        "continuing_subword_prefix": "",
        "max_input_chars_per_word": 1 << 30,
        "vocab": vocab,
    }
    return ByteLevelModel(out, canon.size, {}, vocab[unk_key])


def byte_level_model(
    tj: Mapping[str, Any] | None, canon: CanonicalVocab, *, fallback: bool
) -> ByteLevelModel:
    """The tokenization model of tokenizer.json `tj` over `canon`'s strings (greedy longest match when
    `tj` is None)."""
    if tj is None:
        return _greedy(canon, fallback, None)
    model = tj.get("model") or {}
    mtype = model.get("type")
    if mtype == "BPE":
        return _bpe(model, canon, fallback)
    if mtype == "Unigram":
        return _unigram(model, canon, fallback)
    if mtype in ("WordPiece", "WordLevel"):
        unk = model.get("unk_token")
        vocab = model.get("vocab") or {}
        return _greedy(canon, fallback, vocab.get(unk) if unk else None)
    raise TokenizerError(f"tokenization model {mtype!r} is not supported")


def model_tokenizer(blm: ByteLevelModel) -> Tokenizer:
    """A Tokenizer that applies only the model: no normalizer, no pre-tokenizer, no added tokens."""
    return Tokenizer.from_str(
        json.dumps(
            {
                "version": "1.0",
                "truncation": None,
                "padding": None,
                "added_tokens": [],
                "normalizer": None,
                "pre_tokenizer": None,
                "post_processor": None,
                "decoder": None,
                "model": blm.model,
            }
        )
    )


# ----------------------------------------------------------------------------------------------------------------
# Full byte-level tokenizer (raw text in, the original's ids out)


def _rewrite_normalizer(n: Any) -> Any:
    """Drops the space→▁ replacement (the byte-level model spells spaces as bytes); ▁ prefixes become
    spaces."""
    if n is None:
        return None
    t = n.get("type")
    if t == "Sequence":
        steps = [s for s in (_rewrite_normalizer(x) for x in n["normalizers"]) if s is not None]
        return {"type": "Sequence", "normalizers": steps} if steps else None
    if t == "Replace" and n.get("content") == SPIECE:
        return None
    if t == "Prepend":
        return {**n, "prepend": n["prepend"].replace(SPIECE, " ")}
    return n


def _rewrite_pre_tokenizer(p: Any, kind: str) -> tuple[list[Any], list[Any]]:
    """(normalizer steps to add, pre-tokenizer steps) replacing ▁-based splitting with its space-based
    twin."""
    if p is None:
        return [], []
    t = p.get("type")
    if t == "Sequence":
        norms, pres = [], []
        for x in p["pretokenizers"]:
            n, q = _rewrite_pre_tokenizer(x, kind)
            norms += n
            pres += q
        return norms, pres
    if t == "Metaspace":
        # the same pre-tokenizer with a plain space as its marker: prepends one (only where the text
        # does not start with one, as the original) and splits before spaces; the bytes are spelled
        # by ByteLevel afterwards
        return [], [{**p, "replacement": " "}]
    if t == "Split" and isinstance(p.get("pattern"), dict) and p["pattern"].get("String") == SPIECE:
        return [], [{**p, "pattern": {"String": " "}}]
    if t == "ByteLevel":
        return [], [
            {**p, "add_prefix_space": p.get("add_prefix_space", False), "trim_offsets": False}
        ]
    return [], [p]


def to_byte_level(tokenizer: Any) -> Tokenizer:
    """A byte-level `tokenizers.Tokenizer` whose vocabulary is the canonical one and whose ids are the
    original's."""
    loaded = load_tokenizer(tokenizer)
    tj = loaded.spec
    canon = canonicalize_json(tj, loaded.roles)
    blm = byte_level_model(tj, canon, fallback=False)
    kind = canon.kind
    added = _added_tokens(tj, kind)
    _pin_added(blm.model, added)
    normalizer = tj.get("normalizer")
    pre = tj.get("pre_tokenizer")
    if kind == "byte_level":
        pres = [pre] if pre else []
        norms: list[Any] = []
    elif kind == "wordpiece":
        pres = [pre] if pre else []
        pres.append(
            {
                "type": "ByteLevel",
                "add_prefix_space": True,
                "trim_offsets": False,
                "use_regex": False,
            }
        )
        norms = []
    else:
        normalizer = _rewrite_normalizer(normalizer)
        norms, pres = _rewrite_pre_tokenizer(pre, kind)
        pres.append(
            {
                "type": "ByteLevel",
                "add_prefix_space": False,
                "trim_offsets": False,
                "use_regex": False,
            }
        )
    if norms:
        base = [normalizer] if normalizer else []
        normalizer = {"type": "Sequence", "normalizers": [*base, *norms]}
    out = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": pres} if len(pres) != 1 else pres[0],
        "post_processor": None,
        "decoder": {
            "type": "ByteLevel",
            "add_prefix_space": False,
            "trim_offsets": False,
            "use_regex": False,
        },
        "model": blm.model,
    }
    tok = Tokenizer.from_str(json.dumps(out))
    moved = [
        (a["content"], a["id"], tok.token_to_id(a["content"]))
        for a in added
        if tok.token_to_id(a["content"]) != a["id"]
    ]
    if moved:
        raise TokenizerError(
            f"byte-level conversion could not keep the ids of added tokens (content, id, got): "
            f"{moved[:5]}"
        )
    return tok


def _added_tokens(tj: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """Added tokens as the byte-level tokenizer must match them (SentencePiece ▁ → space in ordinary
    ones)."""
    out = []
    for a in tj.get("added_tokens") or []:
        if not a.get("special") and kind == "metaspace":
            a = {**a, "content": a["content"].replace(SPIECE, " ")}
        out.append(a)
    return out


def _pin_added(model: dict[str, Any], added: list[dict[str, Any]]) -> None:
    """`tokenizers` ignores an added token's id unless the model's vocabulary maps its text to it: add
    those keys.

    The keys are raw text, never produced from canonical input by merges, so the model's own output
    is unchanged."""
    if model["type"] == "Unigram":
        vocab = model["vocab"]
        for a in added:
            i = int(a["id"])
            if i < len(vocab) and vocab[i][0].startswith(HELPER):
                vocab[i] = [a["content"], vocab[i][1]]
        return
    vocab = model["vocab"]
    for a in added:
        vocab.setdefault(a["content"], int(a["id"]))
