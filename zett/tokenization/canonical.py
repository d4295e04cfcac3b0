"""Canonical byte-level vocabulary: each token id → the bytes it stands for, in the GPT-2 byte
alphabet; specials apart."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .byte_alphabet import CHAR_TO_BYTE, TokenizerError, from_canonical, to_canonical
from .load import load_tokenizer

SPIECE = "▁"
BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")

# Roles in the order that picks a special token's primary role when it has several.
ROLES = ("bos", "eos", "unk", "pad", "mask", "cls", "sep", "turn_start", "turn_end")
_ROLE_PATTERNS: dict[str, tuple[str, ...]] = {
    "bos": ("<s>", "<bos>", "<|begin_of_text|>", "[BOS]", "<|startoftext|>"),
    "eos": ("</s>", "<eos>", "<|end_of_text|>", "<|endoftext|>", "[EOS]"),
    "unk": ("<unk>", "[UNK]", "<|unk|>"),
    "pad": ("<pad>", "[PAD]", "<|pad|>", "<|finetune_right_pad_id|>"),
    "mask": ("<mask>", "[MASK]", "<|mask|>"),
    "cls": ("[CLS]", "<cls>"),
    "sep": ("[SEP]", "<sep>"),
    "turn_start": ("<|im_start|>", "<start_of_turn>", "<|start_header_id|>"),
    "turn_end": ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>"),
}
_PATTERN_ROLE = {tok: role for role, toks in _ROLE_PATTERNS.items() for tok in toks}


@dataclass(frozen=True)
class SpecialToken:
    """A special/control token: its primary `role` ("bos", "eos", ..., or "control"), text and id;
    `also` = further roles."""

    role: str
    token: str
    id: int
    also: tuple[str, ...] = ()

    @property
    def roles(self) -> tuple[str, ...]:
        return (self.role, *self.also)


@dataclass(frozen=True)
class CanonicalVocab:
    """`tokens[id]` = canonical byte-level string of that id ("" at special ids); `specials` kept apart
    with roles.

    `shadowed` holds ids whose bytes duplicate a preferred id (e.g. SentencePiece `<0x41>` next to
    `A`): the original tokenizer never emits them where the preferred one applies, and `id_of` never
    returns them. `kind` records the family the vocabulary came from: byte_level | metaspace |
    wordpiece | raw | canonical."""

    tokens: tuple[str, ...]
    specials: tuple[SpecialToken, ...] = ()
    shadowed: frozenset[int] = frozenset()
    kind: str = "canonical"

    def __post_init__(self) -> None:
        n = len(self.tokens)
        seen: set[int] = set()
        for s in self.specials:
            if not 0 <= s.id < n:
                raise TokenizerError(
                    f"special token {s.token!r} has id {s.id}, outside the vocabulary [0, {n})"
                )
            if s.id in seen:
                raise TokenizerError(
                    f"special id {s.id} ({s.token!r}) listed twice; give extra roles via `also`"
                )
            if self.tokens[s.id] != "":
                raise TokenizerError(
                    f"special token {s.token!r} at id {s.id} must have the '' placeholder, got "
                    f"{self.tokens[s.id]!r}"
                )
            seen.add(s.id)
        first: dict[str, int] = {}
        for i, t in enumerate(self.tokens):
            if i in seen:
                continue
            if t == "":
                raise TokenizerError(f"token id {i} is empty and not a special token")
            if i in self.shadowed:
                continue
            if t in first:
                raise TokenizerError(
                    f"duplicate token {t!r} ({from_canonical(t)!r}) at ids {first[t]} and {i}"
                )
            first[t] = i
        for i in self.shadowed:
            if not 0 <= i < n or self.tokens[i] not in first:
                raise TokenizerError(f"shadowed id {i} does not duplicate a kept token")
        bad = [t for t in first if any(c not in CHAR_TO_BYTE for c in t)]
        if bad:
            from_canonical(bad[0])  # raises with the offending character

    @classmethod
    def from_tokens(
        cls, tokens: Sequence[str], specials: Sequence[SpecialToken] = (), kind: str = "canonical"
    ) -> CanonicalVocab:
        """From canonical strings per id; special ids may carry their text or "" (replaced by the
        placeholder)."""
        toks = list(tokens)
        for s in specials:
            if 0 <= s.id < len(toks):
                toks[s.id] = ""
        return cls(tuple(toks), tuple(specials), frozenset(), kind)

    @property
    def size(self) -> int:
        return len(self.tokens)

    @cached_property
    def special_ids(self) -> tuple[int, ...]:
        return tuple(sorted(s.id for s in self.specials))

    @cached_property
    def _index(self) -> dict[str, int]:
        special = set(self.special_ids)
        return {
            t: i for i, t in enumerate(self.tokens) if i not in special and i not in self.shadowed
        }

    def id_of(self, token: str) -> int | None:
        """Id of a canonical string (never a shadowed or special id)."""
        return self._index.get(token)

    def bytes_of(self, i: int) -> bytes:
        return from_canonical(self.tokens[i])

    def special(self, role: str) -> SpecialToken | None:
        """The special token with this primary role, else one that also has it."""
        for s in self.specials:
            if s.role == role:
                return s
        for s in self.specials:
            if role in s.also:
                return s
        return None

    @cached_property
    def regular_ids(self) -> tuple[int, ...]:
        """Ids that are neither special nor shadowed (the searchable vocabulary)."""
        return tuple(self._index.values())


# ----------------------------------------------------------------------------------------------------------------
# From a `tokenizers.Tokenizer`


def detect_kind(tj: Mapping[str, Any]) -> str:
    """Which alphabet the model's vocabulary is written in: byte_level | metaspace | wordpiece |
    raw."""
    model = tj.get("model") or {}
    byte_level = '"ByteLevel"' in json.dumps([tj.get("pre_tokenizer"), tj.get("decoder")])
    if model.get("type") == "WordPiece":
        # an empty continuation prefix over the byte alphabet is greedy byte matching (GGUF rwkv)
        plain = model.get("continuing_subword_prefix") == ""
        return "byte_level" if plain and byte_level else "wordpiece"
    blob = json.dumps(
        [tj.get("pre_tokenizer"), tj.get("decoder"), tj.get("normalizer")], ensure_ascii=False
    )
    if byte_level:
        return "byte_level"
    if '"Metaspace"' in blob or SPIECE in blob:
        return "metaspace"
    return "raw"


def piece_to_canonical(piece: str, kind: str, byte_fallback: bool = True) -> str:
    """One model piece (as written in the model's own vocabulary) → canonical string."""
    if kind == "byte_level" or kind == "canonical":
        return piece
    if byte_fallback and (m := BYTE_PIECE.match(piece)):
        return to_canonical(bytes([int(m.group(1), 16)]))
    if kind == "metaspace":
        return to_canonical(piece.replace(SPIECE, " ").encode("utf-8"))
    if kind == "wordpiece":
        raise TokenizerError(
            "wordpiece pieces need the continuation prefix; use wordpiece_to_canonical"
        )
    return to_canonical(piece.encode("utf-8"))


def wordpiece_to_canonical(piece: str, prefix: str = "##") -> str:
    """`##ing` → bytes of "ing" (continues a word); `run` → bytes of " run" (starts a word)."""
    if prefix and piece.startswith(prefix) and len(piece) > len(prefix):
        return to_canonical(piece[len(prefix) :].encode("utf-8"))
    return to_canonical((" " + piece).encode("utf-8"))


def infer_roles(content: str) -> tuple[str, ...]:
    r = _PATTERN_ROLE.get(content)
    return (r,) if r else ()


def _model_vocab(model: Mapping[str, Any]) -> dict[int, str]:
    """Model vocabulary as id → piece (Unigram lists are positional)."""
    mtype = model.get("type")
    vocab = model.get("vocab")
    if vocab is None:
        raise TokenizerError(f"model of type {mtype!r} has no vocabulary")
    if mtype == "Unigram":
        return {i: p for i, (p, _score) in enumerate(vocab)}
    if not isinstance(vocab, Mapping):
        raise TokenizerError(f"model of type {mtype!r}: expected a token→id mapping")
    out: dict[int, str] = {}
    for p, i in vocab.items():
        if not isinstance(i, int) or i < 0:
            raise TokenizerError(f"token {p!r} has invalid id {i!r}")
        if i in out:
            raise TokenizerError(f"id {i} is given to two tokens: {out[i]!r} and {p!r}")
        out[i] = p
    return out


def canonicalize_json(
    tj: Mapping[str, Any], roles: Mapping[str, str | int] | None = None
) -> CanonicalVocab:
    """Canonical vocabulary of a tokenizer.json dict; `roles` (role → token text or id) overrides
    guessed roles."""
    model = tj.get("model") or {}
    kind = detect_kind(tj)
    byte_fallback = bool(model.get("byte_fallback", False))
    prefix = model.get("continuing_subword_prefix") or ""
    if model.get("type") == "BPE" and (prefix or model.get("end_of_word_suffix")):
        raise TokenizerError(
            "BPE with a continuing-subword prefix or end-of-word suffix is not supported yet"
        )
    by_id = _model_vocab(model)
    if kind == "metaspace" and not byte_fallback:
        # Some SentencePiece conversions drop the flag but keep all 256 byte pieces: they are still
        # bytes.
        byte_fallback = sum(bool(BYTE_PIECE.match(p)) for p in by_id.values()) == 256
    added = {int(a["id"]): a for a in tj.get("added_tokens") or []}
    n = max([*by_id, *added], default=-1) + 1
    missing = [i for i in range(n) if i not in by_id and i not in added]
    if missing:
        raise TokenizerError(
            f"vocabulary has holes: {len(missing)} ids have no token (first: {missing[:10]})"
        )

    special_content: dict[int, str] = {
        i: a["content"] for i, a in added.items() if a.get("special")
    }
    unk = model.get("unk_token") if model.get("type") != "Unigram" else None
    if model.get("type") == "Unigram" and model.get("unk_id") is not None:
        unk = by_id.get(int(model["unk_id"]))
    if unk is not None:
        for i, p in by_id.items():
            if p == unk:
                special_content.setdefault(i, p)

    tokens: list[str] = [""] * n
    is_byte_piece = [False] * n
    for i in range(n):
        if i in special_content:
            continue
        if i in added:
            text = added[i]["content"]
            if kind == "metaspace":
                text = text.replace(SPIECE, " ")
            tokens[i] = to_canonical(text.encode("utf-8"))
            continue
        p = by_id[i]
        if kind == "wordpiece":
            tokens[i] = wordpiece_to_canonical(p, prefix)
        else:
            tokens[i] = piece_to_canonical(p, kind, byte_fallback)
            is_byte_piece[i] = byte_fallback and bool(BYTE_PIECE.match(p))
        if kind == "byte_level" and any(c not in CHAR_TO_BYTE for c in p):
            raise TokenizerError(
                f"byte-level token {p!r} (id {i}) has characters outside the byte alphabet"
            )

    # Duplicates: the byte-fallback piece yields to the ordinary piece; otherwise the lower id wins.
    shadowed: set[int] = set()
    keep: dict[str, int] = {}
    for i in sorted(range(n), key=lambda i: (is_byte_piece[i], i)):
        t = tokens[i]
        if not t:
            if i not in special_content:
                raise TokenizerError(f"token id {i} ({by_id.get(i)!r}) is empty")
            continue
        if t in keep:
            if not is_byte_piece[i] and not is_byte_piece[keep[t]]:
                raise TokenizerError(
                    f"tokens {by_id.get(keep[t], keep[t])!r} (id {keep[t]}) and "
                    f"{by_id.get(i, i)!r} (id {i}) "
                    f"stand for the same bytes {from_canonical(t)!r}"
                )
            shadowed.add(i)
        else:
            keep[t] = i

    specials = assign_roles(special_content, roles)
    return CanonicalVocab(tuple(tokens), specials, frozenset(shadowed), kind)


def assign_roles(
    special_content: Mapping[int, str], roles: Mapping[str, str | int] | None
) -> tuple[SpecialToken, ...]:
    """SpecialTokens for id → text: explicit roles first, then the usual names (a role given explicitly
    is not guessed)."""
    roles = dict(roles or {})
    by_text = {c: i for i, c in special_content.items()}
    found: dict[int, list[str]] = {i: [] for i in special_content}
    for role, ref in roles.items():
        if ref is None:
            continue
        i = ref if isinstance(ref, int) else by_text.get(ref)
        if i is None or i not in found:
            continue  # the role names a regular token or none at all: nothing special to record
        found[i].append(role)
    for i, c in special_content.items():
        for r in infer_roles(c):
            if r not in roles and r not in found[i]:
                found[i].append(r)
    out = []
    for i in sorted(special_content):
        rs = sorted(found[i], key=lambda r: ROLES.index(r) if r in ROLES else len(ROLES)) or [
            "control"
        ]
        out.append(SpecialToken(rs[0], special_content[i], i, tuple(rs[1:])))
    return tuple(out)


def canonicalize(tokenizer: Any, roles: Mapping[str, str | int] | None = None) -> CanonicalVocab:
    """Canonical vocabulary of a `tokenizers.Tokenizer`, HF dir / tokenizer.json, SentencePiece
    `.model`, GGUF, vocab.txt or hub id."""
    if isinstance(tokenizer, CanonicalVocab):
        return tokenizer
    loaded = load_tokenizer(tokenizer)
    merged = {**loaded.roles, **(roles or {})}
    key = json.dumps(merged, sort_keys=True)
    memo = loaded.__dict__.setdefault(
        "_canonical", {}
    )  # repeated use of one loaded tokenizer: convert once
    if key not in memo:
        memo[key] = canonicalize_json(loaded.spec, merged)
    return memo[key]
