"""The scoring protocol: bits per byte in which every method — the original model included — scores
the same bytes with the same preceding text, whatever its tokenizer.

1. **Tokenize once, attribute bytes.** Each document is tokenized once, in full, without added
   special tokens, with offsets. Every token is given a contiguous span of the document's UTF-8
   bytes so that the spans partition the document: every byte belongs to exactly one token
   (`attribute_bytes`). Tokens that share one character (byte fallback `<0xE0><0xA4><0xA8>`, a
   byte-level piece that splits a multi-byte character) take its bytes one after another, in order.
   Offsets that go backwards, or that leave a non-whitespace byte uncovered (text lost, or a
   normalizer that rewrote it — e.g. NFC on text that is not NFC), are an error naming the
   document and byte. Whitespace a tokenizer drops (BERT's WordPiece) stays in the span of the
   token before it and is reported as `dropped_bytes`. A tokenizer saved with padding or
   truncation (BERT's 128) is used without them.
2. **Windows in bytes.** Tokens are assigned to scoring segments by the byte they start at:
   segment k scores the tokens starting in [k·S, (k+1)·S); its context is the tokens starting in
   [k·S − C, k·S). A token straddling the left context boundary is left out, so the token starting
   at byte p is predicted from the text in [k·S − C, p) — for every tokenizer the same, up to one
   token at the left edge (and from the document start when k·S ≤ C).
3. **One conditioning row.** Every window is [conditioning row] + context + scored tokens. The row
   is the source model's BOS (or EOS) embedding, appended to the (target) tables as an extra
   input-only row that never competes in the softmax — for the original model too, which is
   scored through its own tables with the same row appended, so a transfer that reproduces those
   tables reproduces its score exactly.
4. **Everything is scored once.** Every token is scored exactly once, `<unk>` and special tokens
   included; bits/byte = Σ NLL bits / Σ UTF-8 bytes of the documents. The bytes covered by `<unk>`
   and by other special tokens are counted and reported (`unk_bytes`, `special_bytes`).
   Per-document bits and bytes are kept for paired bootstrap intervals (`zett.eval.stats`).

C = `context_bytes` and S = `stride_bytes` are the fields of `ScoringProtocol`, the same for every
tokenizer. A window spans at most C + S bytes, i.e. C + S + 1 positions for a byte-level
tokenizer. Windows are batched by length buckets (powers of two and their midpoints, in tokens),
so jit compiles a few shapes only; batching never changes which bytes are scored or what they are
conditioned on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer


@dataclass(frozen=True)
class ScoringProtocol:
    """context_bytes (C): preceding text every scored token may see; stride_bytes (S): bytes scored
    per window; batch_tokens: padded positions per batch (rows = batch_tokens // window width)."""

    context_bytes: int = 2048
    stride_bytes: int = 2048
    batch_tokens: int = 4096

    def __post_init__(self) -> None:
        if self.context_bytes < 0:
            raise ValueError(f"context_bytes must be >= 0, got {self.context_bytes}")
        if self.stride_bytes < 1:
            raise ValueError(f"stride_bytes must be >= 1, got {self.stride_bytes}")
        if self.batch_tokens < 1:
            raise ValueError(f"batch_tokens must be >= 1, got {self.batch_tokens}")


DEFAULT_PROTOCOL = ScoringProtocol()


@dataclass(frozen=True)
class TokenizedDoc:
    """One document under one tokenizer: ids [n], starts [n] (attributed byte starts,
    non-decreasing, starts[0] = 0; token i covers bytes [starts[i], starts[i+1]), the last one up to
    n_bytes), and the bytes covered by `<unk>` / other special tokens / nothing (dropped
    whitespace)."""

    ids: np.ndarray
    starts: np.ndarray
    n_bytes: int
    unk_bytes: int = 0
    special_bytes: int = 0
    dropped_bytes: int = 0

    def spans(self) -> np.ndarray:
        """[n, 2] attributed byte spans (start, end)."""
        ends = np.append(self.starts[1:], self.n_bytes)
        return np.stack([self.starts, ends], axis=1)


@dataclass(frozen=True)
class Window:
    """Tokens [context, start) condition, tokens [start, end) are scored, of document `doc`."""

    doc: int
    context: int
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.context


def char_byte_offsets(text: str) -> np.ndarray:
    """[len(text) + 1] UTF-8 byte offset of every character boundary."""
    cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    widths = 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)
    return np.concatenate([[0], np.cumsum(widths, dtype=np.int64)])


def attribute_bytes(
    text: str, offsets: list[tuple[int, int]], where: str = "document"
) -> tuple[np.ndarray, int]:
    """(starts [n], dropped whitespace bytes): each token's attributed byte start, from the
    tokenizer's character `offsets` into `text` (see the module docstring, step 1)."""
    data = text.encode("utf-8")
    n_bytes = len(data)
    if not offsets:
        if data.strip():
            raise ValueError(f"{where}: the tokenizer produced no tokens for {n_bytes} bytes")
        return np.zeros(0, np.int64), n_bytes
    cum = char_byte_offsets(text)
    chars = np.asarray(offsets, np.int64)
    if chars.min() < 0 or chars.max() > len(text) or (chars[:, 1] < chars[:, 0]).any():
        raise ValueError(f"{where}: token offsets outside the text ({len(text)} characters)")
    bs, be = cum[chars[:, 0]], cum[chars[:, 1]]
    if (np.diff(bs) < 0).any():
        i = int(np.argmax(np.diff(bs) < 0)) + 1
        raise ValueError(f"{where}: token {i} starts at byte {bs[i]}, before token {i - 1}")
    # bytes no token's offsets reach: the tokenizer dropped them or rewrote them past alignment
    reach = np.maximum.accumulate(be)
    gap_from = np.concatenate([[0], reach[:-1]])
    dropped = 0
    for i in np.flatnonzero(bs > gap_from):
        dropped += _check_gap(data, int(gap_from[i]), int(bs[i]), where)
    if reach[-1] < n_bytes:
        dropped += _check_gap(data, int(reach[-1]), n_bytes, where)
    starts = np.empty(len(bs), np.int64)
    prev = -1
    for i, (s, e) in enumerate(zip(bs.tolist(), be.tolist())):
        # tokens sharing a character take its bytes one by one; never before the previous token
        a = min(max(s, prev + 1), e - 1) if e > s else s
        prev = max(a, prev)
        starts[i] = prev
    starts[0] = 0  # leading dropped whitespace belongs to the first token
    return starts, dropped


def _check_gap(data: bytes, a: int, b: int, where: str) -> int:
    if data[a:b].strip():
        raise ValueError(
            f"{where}: bytes {a}..{b} ({data[a:b][:40]!r}) are covered by no token — the tokenizer "
            "dropped text or its normalizer rewrote it (NFC-normalize the text first); bits per "
            "byte would count bytes nobody scored"
        )
    return b - a


def tokenize_documents(
    tokenizer,
    texts: list[str],
    unk_id: int | None = None,
    special_ids: tuple[int, ...] | list[int] = (),
) -> list[TokenizedDoc]:
    """`tokenizer` (a `tokenizers.Tokenizer`) → one TokenizedDoc per text, tokenized in full once
    (never padded or truncated, whatever the tokenizer was saved with)."""
    specials = np.asarray(sorted(set(special_ids) - {unk_id}), np.int64)
    if tokenizer.padding or tokenizer.truncation:
        # a tokenizer saved with padding/truncation (BERT's: 128) would pad or cut every document
        tokenizer = Tokenizer.from_str(tokenizer.to_str())
        tokenizer.no_padding()
        tokenizer.no_truncation()
    docs = []
    for d, (text, enc) in enumerate(
        zip(texts, tokenizer.encode_batch(list(texts), add_special_tokens=False))
    ):
        ids = np.asarray(enc.ids, np.int32)
        starts, dropped = attribute_bytes(text, enc.offsets, where=f"document {d}")
        n_bytes = len(text.encode("utf-8"))
        sizes = np.diff(np.append(starts, n_bytes))
        docs.append(
            TokenizedDoc(
                ids=ids,
                starts=starts,
                n_bytes=n_bytes,
                unk_bytes=int(sizes[ids == unk_id].sum()) if unk_id is not None else 0,
                special_bytes=int(sizes[np.isin(ids, specials)].sum()) if specials.size else 0,
                dropped_bytes=dropped,
            )
        )
    return docs


def plan_windows(docs: list[TokenizedDoc], protocol: ScoringProtocol) -> list[Window]:
    """Every token of every document in exactly one window's scored range (module docstring,
    step 2)."""
    s, c = protocol.stride_bytes, protocol.context_bytes
    windows = []
    for d, doc in enumerate(docs):
        if not len(doc.ids):
            continue
        n_seg = -(-doc.n_bytes // s)
        bounds = np.searchsorted(doc.starts, np.arange(n_seg + 1) * s, side="left")
        bounds[-1] = len(doc.ids)
        left = np.searchsorted(doc.starts, np.arange(n_seg) * s - c, side="left")
        for k in range(n_seg):
            if bounds[k + 1] > bounds[k]:
                windows.append(Window(d, int(left[k]), int(bounds[k]), int(bounds[k + 1])))
    return windows
