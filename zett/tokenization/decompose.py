"""Decomposition ("surface forms"): each target token's bytes → source ids, batch-encoded in Rust by
the source's model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import Any

import numpy as np

from .bpe_numpy import VectorBPE
from .byte_alphabet import CHAR_TO_BYTE, TokenizerError, to_canonical
from .byte_level import ByteLevelModel, byte_level_model, model_tokenizer
from .canonical import CanonicalVocab, canonicalize
from .load import load_tokenizer
from .overlap import map_specials


@dataclass(frozen=True)
class SurfaceForms:
    """`ids` int32 `[n_target, maxlen]` source ids (0-padded), `lengths` int32 `[n_target]` (≤ maxlen),
    and how many rows were longer than maxlen and cut (`n_truncated`). Ids ≥ the source vocabulary
    size are byte fallbacks."""

    ids: np.ndarray
    lengths: np.ndarray
    n_truncated: int
    n_unmatched_specials: int = 0

    def __post_init__(self) -> None:
        if self.ids.ndim != 2 or self.lengths.shape != self.ids.shape[:1]:
            raise TokenizerError(
                f"surface forms: ids {self.ids.shape} and lengths {self.lengths.shape} disagree"
            )

    @property
    def mask(self) -> np.ndarray:
        """`[n_target, maxlen]` bool, True on real pieces."""
        return np.arange(self.ids.shape[1], dtype=np.int32)[None, :] < self.lengths[:, None]

    @property
    def maxlen(self) -> int:
        return int(self.ids.shape[1])

    def row(self, i: int) -> list[int]:
        return self.ids[i, : self.lengths[i]].tolist()


_IS_CANONICAL = np.zeros(max(map(ord, CHAR_TO_BYTE)) + 1, dtype=bool)
_IS_CANONICAL[[ord(c) for c in CHAR_TO_BYTE]] = True


def _check_canonical(tokens: Sequence[str]) -> None:
    """Names the first token that is not a string of byte-alphabet characters."""
    try:
        codes = np.frombuffer("".join(tokens).encode("utf-32-le"), dtype=np.uint32)
        if (
            _IS_CANONICAL[np.minimum(codes, len(_IS_CANONICAL) - 1)].all()
            and (codes < len(_IS_CANONICAL)).all()
        ):
            return
    except (TypeError, UnicodeEncodeError):
        pass
    for i, t in enumerate(tokens):
        if not isinstance(t, str):
            raise TokenizerError(
                f"target token {i} is a {type(t).__name__}, expected a canonical string"
            )
        bad = next((c for c in t if c not in CHAR_TO_BYTE), None)
        if bad is not None:
            raise TokenizerError(
                f"target token {i} {t!r} is not canonical: {bad!r} (U+{ord(bad):04X}) is outside "
                f"the byte "
                "alphabet (convert text with to_canonical(text.encode()))"
            )


class Decomposer:
    """Built once from a source tokenizer; `__call__` decomposes canonical target strings into source
    ids.

    A target string equal to a source token maps to that id; any other goes through the source's
    tokenization model (rewritten over bytes; no normaliser, no pre-tokenizer). Bytes the source
    cannot spell get fallback ids `source_vocab_size + byte`, so every string is decomposable."""

    n_fallback = 256

    def __init__(
        self, source: Any, maxlen: int = 7, roles: dict[str, str | int] | None = None
    ) -> None:
        if maxlen < 1:
            raise TokenizerError(f"maxlen must be ≥ 1, got {maxlen}")
        self.maxlen = int(maxlen)
        if isinstance(source, CanonicalVocab):
            self.canonical, tj = source, None
        else:
            loaded = load_tokenizer(source)
            tj = loaded.spec
            self.canonical = canonicalize(loaded, roles)
        self.source_vocab_size = self.canonical.size
        self.model: ByteLevelModel = byte_level_model(tj, self.canonical, fallback=True)
        self._tokenizer = model_tokenizer(self.model)
        self._index = self.canonical._index
        self._unk = self.model.unk_id

    _CHUNK = 2048  # target strings per batch item: amortises per-encoding overhead, still enough items for threads
    _BLOCK = (
        16 * _CHUNK
    )  # strings per encode_batch call: Encoding objects (token strings, offsets) exist for one block only

    def encode_flat(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All decompositions concatenated: (`ids` int64 `[sum(lengths)]`, full `lengths` int64 `[n]`);
        "" gives 0."""
        return self.encode_flat_ids(tokens)[:2]

    def encode_flat_ids(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`encode_flat` and each token's own source id (int64 `[n]`, −1 where it is not a source
        token)."""
        tokens = list(tokens)
        _check_canonical(tokens)
        n = len(tokens)
        index = self._index
        exact = np.fromiter((index.get(t, -1) for t in tokens), dtype=np.int64, count=n)
        nonempty = np.fromiter(map(bool, tokens), dtype=bool, count=n)
        todo = np.flatnonzero((exact < 0) & nonempty)
        lengths = (exact >= 0).astype(np.int64)
        got = np.zeros(0, dtype=np.int64)
        if todo.size:
            words = [tokens[i] for i in todo.tolist()]
            parts = [
                self._encode_words(words[b : b + self._BLOCK])
                for b in range(0, len(words), self._BLOCK)
            ]
            got = np.concatenate([g for g, _ in parts])
            lengths[todo] = np.concatenate([p for _, p in parts])
        starts = np.cumsum(lengths) - lengths
        flat = np.zeros(int(lengths.sum()), dtype=np.int64)
        ex = np.flatnonzero(exact >= 0)
        flat[starts[ex]] = exact[ex]
        if todo.size:
            per = lengths[todo]
            flat[
                np.repeat(starts[todo], per)
                + (np.arange(got.size) - np.repeat(np.cumsum(per) - per, per))
            ] = got
        return flat, lengths, exact

    @cached_property
    def _vector_bpe(self) -> VectorBPE | None:
        """The numpy twin of a BPE source model (~2.5× faster on short strings); None for other
        models."""
        return VectorBPE(self.model.model) if self.model.model.get("type") == "BPE" else None

    def _encode_words(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 concatenated, count per word) of strings that are not source tokens
        themselves."""
        bpe = self._vector_bpe
        fast = bpe.supports(words) if bpe is not None else np.zeros(len(words), dtype=bool)
        if fast.all():
            got, per = bpe.encode(words)
        else:
            got, per = (
                self._encode_rust(words) if not fast.any() else self._encode_split(words, fast)
            )
        if self._unk is not None and (hit := np.flatnonzero(got == self._unk)).size:
            word = np.searchsorted(np.cumsum(per), hit[0], side="right")
            raise TokenizerError(
                f"source model produced its unknown id for {words[word]!r}; decomposition is "
                f"incomplete"
            )
        if self.model.helpers and (got >= self.source_vocab_size + self.n_fallback).any():
            got, per = self._expand_helpers(got, per)
        return got, per

    def _encode_split(self, words: list[str], fast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Words `fast` marks through the numpy BPE, the rest through `tokenizers`, back in their
        order."""
        a, b = np.flatnonzero(fast), np.flatnonzero(~fast)
        got_a, per_a = self._vector_bpe.encode([words[i] for i in a.tolist()])
        got_b, per_b = self._encode_rust([words[i] for i in b.tolist()])
        per = np.zeros(len(words), dtype=np.int64)
        per[a], per[b] = per_a, per_b
        starts = np.cumsum(per) - per
        got = np.zeros(int(per.sum()), dtype=np.int64)
        for idx, g, p in ((a, got_a, per_a), (b, got_b, per_b)):
            got[np.repeat(starts[idx], p) + np.arange(len(g)) - np.repeat(np.cumsum(p) - p, p)] = g
        return got, per

    def _encode_rust(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, count per word) from the source model in `tokenizers`."""
        if not words:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        c = self._CHUNK
        # Pre-split input: each target string is one "word", so the model sees exactly its bytes.
        encs = self._tokenizer.encode_batch(
            [words[k : k + c] for k in range(0, len(words), c)],
            is_pretokenized=True,
            add_special_tokens=False,
        )
        got = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encs])
        wid = np.concatenate(
            [np.asarray(e.word_ids, dtype=np.int64) + k * c for k, e in enumerate(encs)]
        )
        del encs
        return got, np.bincount(wid, minlength=len(words))

    def _expand_helpers(self, got: np.ndarray, per: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Partial-character merge steps (ids past the fallbacks) back into the byte ids they stand
        for."""
        helpers = self.model.helpers
        rows = np.split(got, np.cumsum(per)[:-1])
        out = [
            np.fromiter(
                chain.from_iterable(helpers.get(x, (x,)) for x in r.tolist()), dtype=np.int64
            )
            if (r >= self.source_vocab_size + self.n_fallback).any()
            else r
            for r in rows
        ]
        return np.concatenate(out), np.fromiter(map(len, out), dtype=np.int64, count=len(out))

    def encode(self, tokens: Sequence[str]) -> list[list[int]]:
        """Full (untruncated) decompositions as lists; "" gives []."""
        flat, lengths = self.encode_flat(tokens)
        return [r.tolist() for r in np.split(flat, np.cumsum(lengths)[:-1])] if len(lengths) else []

    def __call__(self, tokens: Sequence[str]) -> SurfaceForms:
        return self._pack(*self.encode_flat(tokens))

    def _pack(self, flat: np.ndarray, full: np.ndarray, n_unmatched: int = 0) -> SurfaceForms:
        n, m = full.size, self.maxlen
        starts = np.cumsum(full) - full
        row = np.repeat(np.arange(n), full)
        col = np.arange(flat.size) - np.repeat(starts, full)
        keep = col < m
        ids = np.zeros((n, m), dtype=np.int32)
        ids[row[keep], col[keep]] = flat[keep]
        return SurfaceForms(
            ids, np.minimum(full, m).astype(np.int32), int((full > m).sum()), n_unmatched
        )

    def decompose_vocab(self, target: CanonicalVocab) -> SurfaceForms:
        """All target ids: specials → the source special of the same role (length 1), else → their
        text's bytes."""
        tokens = list(target.tokens)
        smap = map_specials(target, self.canonical)
        unmatched = [s for s in target.specials if s.id not in smap]
        for s in unmatched:
            tokens[s.id] = to_canonical(s.token.encode("utf-8"))
        flat, lengths = self.encode_flat(tokens)
        sf = self._pack(flat, lengths, len(unmatched))
        if smap:
            t = np.fromiter(smap.keys(), dtype=np.int64, count=len(smap))
            sf.ids[t] = 0
            sf.ids[t, 0] = np.fromiter(smap.values(), dtype=np.int32, count=len(smap))
            sf.lengths[t] = 1
        return sf

    def pieces(self, ids: Sequence[int]) -> list[bytes]:
        """Bytes of each source/fallback id (for inspection and tests)."""
        out = []
        for i in ids:
            if 0 <= i < self.source_vocab_size:
                out.append(self.canonical.bytes_of(i))
            elif self.source_vocab_size <= i < self.source_vocab_size + 256:
                out.append(bytes([i - self.source_vocab_size]))
            else:
                raise TokenizerError(f"id {i} is neither a source id nor a fallback id")
        return out
