"""Texts → one token stream of a tokenizer → fixed-length blocks, with the UTF-8 bytes each token
covers (for bits per byte) and the checks that the text is something the tokenizer can represent."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from zett.tokenization import CanonicalVocab


class DataError(ValueError):
    """The training text cannot be trained on (empty, too short, or unrepresentable)."""


@dataclass(frozen=True)
class Template:
    """The special ids around each document (`prefix`, `suffix`) and around each MLM block."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]

    @classmethod
    def of(cls, tokenizer: Tokenizer, vocab: CanonicalVocab, causal: bool) -> Template:
        """What the tokenizer itself puts around a text (e.g. Gemma's <bos>, BERT's [CLS] … [SEP]).
        A causal LM whose tokenizer adds nothing gets its BOS (else EOS) before each document, so
        documents are delimited and every one is read after the same token evaluation conditions
        on."""
        enc = plain_tokenizer(tokenizer).encode("a b", add_special_tokens=True)
        mask, ids = enc.special_tokens_mask, enc.ids
        first = next((i for i, m in enumerate(mask) if not m), len(ids))
        last = max((i for i, m in enumerate(mask) if not m), default=len(ids) - 1)
        prefix, suffix = tuple(ids[:first]), tuple(ids[last + 1 :])
        if causal and not prefix and not suffix:
            sep = vocab.special("bos") or vocab.special("eos")
            prefix = (sep.id,) if sep is not None else ()
        return cls(prefix, suffix)


@dataclass(frozen=True)
class TokenStream:
    """Documents end to end: `ids` [n] int32 and the UTF-8 bytes of text each token covers
    `n_bytes` [n] int32 (0 on special tokens; a byte covered by several tokens counts once)."""

    ids: np.ndarray
    n_bytes: np.ndarray
    n_texts: int
    n_unk: int
    n_regular: int

    @property
    def fingerprint(self) -> str:
        """A short hash of the stream: a resumed run refuses training text that changed."""
        h = hashlib.sha256(str(self.ids.shape).encode())
        h.update(self.ids.tobytes())
        return h.hexdigest()[:16]


def byte_offsets(text: str) -> np.ndarray:
    """[len(text) + 1] int64: UTF-8 byte offset of every character boundary."""
    cp = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    size = 1 + (cp >= 0x80).astype(np.int64) + (cp >= 0x800) + (cp >= 0x10000)
    return np.concatenate([[0], np.cumsum(size)])


def token_bytes(text: str, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """[n] UTF-8 bytes of `text` each token covers, from its character offsets; bytes that several
    tokens share (byte-level pieces of one character) go to the first of them."""
    if not offsets:
        return np.zeros(0, np.int32)
    off = np.asarray(offsets, np.int64).reshape(-1, 2)
    b = byte_offsets(text)
    start, end = off[:, 0], off[:, 1]
    covered = np.concatenate([[0], np.maximum.accumulate(end)[:-1]])
    begin = np.minimum(np.maximum(start, covered), end)
    return (b[end] - b[begin]).astype(np.int32)


def plain_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """A copy without padding or truncation (a saved tokenizer may carry either)."""
    tok = Tokenizer.from_str(tokenizer.to_str())
    tok.no_padding()
    tok.no_truncation()
    return tok


def encode_stream(
    tokenizer: Tokenizer,
    vocab: CanonicalVocab,
    texts: Sequence[str],
    template: Template,
    label: str,
    max_unk_fraction: float = 0.5,
    batch: int = 1024,
) -> TokenStream:
    """Encodes `texts` (specials added by `template`, not by the tokenizer) into one stream.

    Raises `DataError` naming `label` when there is no text, or when the unknown token stands for
    more than `max_unk_fraction` of its bytes (the tokenizer cannot represent this text)."""
    tok = plain_tokenizer(tokenizer)
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise DataError(f"{label}: no (non-empty) text to train on")
    ids_parts, byte_parts = [], []
    pre, suf = np.asarray(template.prefix, np.int32), np.asarray(template.suffix, np.int32)
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        for text, enc in zip(chunk, tok.encode_batch(chunk, add_special_tokens=False)):
            ids_parts += [pre, np.asarray(enc.ids, np.int32), suf]
            byte_parts += [
                np.zeros(len(pre), np.int32),
                token_bytes(text, enc.offsets),
                np.zeros(len(suf), np.int32),
            ]
    ids = np.concatenate(ids_parts).astype(np.int32)
    n_bytes = np.concatenate(byte_parts).astype(np.int32)
    unk = vocab.special("unk")
    is_unk = ids == unk.id if unk is not None else np.zeros(len(ids), bool)
    # specials cover no text; the unknown token covers the text it replaced
    n_bytes[np.isin(ids, np.asarray(vocab.special_ids, np.int64)) & ~is_unk] = 0
    total = int(n_bytes.sum())
    if total == 0:
        raise DataError(f"{label}: the tokenizer turns the text into special tokens only")
    unk_bytes = int(n_bytes[is_unk].sum())
    if unk_bytes / total > max_unk_fraction:
        raise DataError(
            f"{label}: {unk_bytes / total:.0%} of its {total} bytes become the unknown token "
            f"{unk.token!r}: the tokenizer cannot represent this text (another language or "
            f"script?); data.max_unk_fraction={max_unk_fraction}"
        )
    n_unk, n_regular = int(is_unk.sum()), int((n_bytes > 0).sum())
    return TokenStream(ids, n_bytes, len(texts), n_unk, n_regular)


@dataclass(frozen=True)
class Blocks:
    """The stream cut into `ids` [n_blocks, block] int32 and `n_bytes` [n_blocks, block] int32.

    Causal LM: plain consecutive slices (documents carry their own delimiters). MLM: every block
    is `template.prefix + slice + template.suffix`, as the encoder saw its pre-training inputs."""

    ids: np.ndarray
    n_bytes: np.ndarray
    fingerprint: str

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def pack(cls, stream: TokenStream, block: int, template: Template, causal: bool) -> Blocks:
        if causal:
            inner, pre, suf = block, (), ()
        else:
            pre, suf = template.prefix, template.suffix
            inner = block - len(pre) - len(suf)
            if inner < 1:
                raise DataError(f"block_size {block} leaves no room beside the special tokens")
        n = len(stream.ids) // inner
        ids = stream.ids[: n * inner].reshape(n, inner)
        nb = stream.n_bytes[: n * inner].reshape(n, inner)
        if pre or suf:
            around = [np.tile(np.asarray(x, np.int32), (n, 1)) for x in (pre, suf)]
            ids = np.concatenate([around[0], ids, around[1]], axis=1)
            nb = np.concatenate([np.zeros_like(around[0]), nb, np.zeros_like(around[1])], axis=1)
        return cls(ids.astype(np.int32), nb.astype(np.int32), stream.fingerprint + f"/{block}")
