"""Noisy UnigramLM vocabularies from a substring window, and the `tokenizers` Unigram tokenizer built
from one."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from tokenizers import AddedToken, Tokenizer, models

from zett.tokenization.byte_alphabet import BYTE_TO_CHAR, TokenizerError
from zett.tokenization.canonical import CanonicalVocab, SpecialToken

from . import pretokenize
from .config import SamplerConfig
from .window import SubstringWindow

# log-probability given to a piece whose noisy probability is ≤ 0 (as in the reference)
NONPOSITIVE_LOG_PROB = -1e5
# placeholder pieces of special tokens: never chosen by the model's Viterbi search over bytes
SPECIAL_LOG_PROB = -1e6


def whitespace_pieces(max_len: int) -> tuple[str, ...]:
    """Whitespace runs as the reference adds them: c2 + c1 × i for c1, c2 ∈ {space, newline, tab}, 1 ≤
    i < max_len."""
    ws = pretokenize.WHITESPACE_CHARS
    return tuple(c2 + c1 * i for c1 in ws for i in range(1, max_len) for c2 in ws)


def sample_vocab_size(config: SamplerConfig, rng: np.random.Generator) -> int:
    if config.vocab_size_dist == "fixed":
        return config.vocab_size
    lo, hi = config.vocab_size_min, config.vocab_size_max
    if config.vocab_size_dist == "uniform":
        return int(rng.integers(lo, hi + 1))
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def sample_sigma(config: SamplerConfig, rng: np.random.Generator) -> float:
    if config.noise_median == 0:
        return 0.0
    return float(rng.lognormal(config.noise_log_mean, config.noise_log_std))


@dataclass(frozen=True)
class SampledVocab:
    """A sampled vocabulary: `pieces[id]` in the byte-level alphabet (special tokens' own text at their
    ids), `scores[id]` the Unigram log-probability ([vocab] float64), `specials` with their ids in
    this vocabulary."""

    pieces: tuple[str, ...]
    scores: np.ndarray
    specials: tuple[SpecialToken, ...]
    sigma: float

    @property
    def size(self) -> int:
        return len(self.pieces)

    @cached_property
    def canonical(self) -> CanonicalVocab:
        return CanonicalVocab.from_tokens(self.pieces, self.specials, kind="byte_level")

    @cached_property
    def special_ids(self) -> np.ndarray:
        return np.asarray(sorted(s.id for s in self.specials), dtype=np.int64)


def sample_vocab(
    window: SubstringWindow,
    size: int,
    sigma: float,
    rng: np.random.Generator,
    specials: Sequence[SpecialToken] = (),
    max_len: int = 15,
) -> SampledVocab:
    """256 byte characters + whitespace runs + the top substrings by noisy probability, `size` ids in
    all.

    p = score / Σscore over the window; p̃ = p + N(0, σ²); piece score = log p̃ (or −1e5 when p̃ ≤
    0). Bytes get the lowest log-probability of the window, whitespace runs 0 (as in the reference).
    Specials are inserted at their original ids, in id order; one whose id lies beyond the
    vocabulary so far is appended (its id changes)."""
    special_text = {s.token for s in specials}
    bytes_ = list(BYTE_TO_CHAR)
    clash = special_text.intersection(bytes_)
    if clash:
        raise TokenizerError(
            f"special token(s) {sorted(clash)} coincide with byte characters; cannot sample a "
            f"vocabulary"
        )
    ws = [w for w in whitespace_pieces(max_len) if w not in special_text]
    n_fixed = len(bytes_) + len(ws) + len(specials)
    if size < n_fixed:
        raise ValueError(
            f"vocabulary size {size} is below the {n_fixed} bytes, whitespace pieces and specials "
            f"it must hold"
        )
    if window.total == 0:
        raise ValueError(
            "the substring window is empty: push at least one non-empty batch before sampling"
        )

    p = window.scores / float(window.total)  # [n_window]
    min_log_p = (
        math.log(window.scores.min() / window.total)
        if len(p)
        else math.log(1.0 / max(window.total, 1))
    )
    noisy = p
    if (
        sigma > 0
    ):  # = p + rng.normal(0, σ, n), bit for bit and draw for draw, without the temporaries
        noisy = rng.standard_normal(len(p))
        noisy *= sigma
        noisy += p
    n_take = min(size - n_fixed, len(p))
    top = _top_k(noisy, window.keys, n_take + len(special_text))
    chosen = window.strings(top)
    values = noisy[top]
    if not special_text.isdisjoint(
        chosen
    ):  # rare (a text spelling a special token): filter only then
        keep = np.asarray([s not in special_text for s in chosen], dtype=bool)
        chosen = [s for s, k in zip(chosen, keep) if k]
        values = values[keep]
    chosen, values = chosen[:n_take], values[:n_take]
    with np.errstate(divide="ignore", invalid="ignore"):
        chosen_scores = np.where(
            values > 0, np.log(np.where(values > 0, values, 1.0)), NONPOSITIVE_LOG_PROB
        ).tolist()

    pieces = bytes_ + ws + chosen
    scores = [min_log_p] * len(bytes_) + [0.0] * len(ws) + chosen_scores
    placed = []
    for s in sorted(specials, key=lambda s: s.id):
        at = min(s.id, len(pieces))
        pieces.insert(at, s.token)
        scores.insert(at, SPECIAL_LOG_PROB)
        placed.append(SpecialToken(s.role, s.token, at, s.also))
    return SampledVocab(tuple(pieces), np.asarray(scores, dtype=np.float64), tuple(placed), sigma)


def _top_k(values: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k largest values, in decreasing order; ties (also at the cut) go to the smaller key,
    so the choice is reproducible and independent of the selection algorithm."""
    n = len(values)
    k = min(k, n)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        cand = _candidates(values, k)
        sub = values[cand]
        cut = np.partition(sub, len(sub) - k)[len(sub) - k]  # the k-th largest value
        above = cand[sub > cut]
        at = cand[sub == cut]
        rows = np.concatenate([above, at[np.argsort(keys[at], kind="stable")[: k - len(above)]]])
    else:
        rows = np.arange(n)
    return rows[np.lexsort((keys[rows], -values[rows]))]


def _candidates(values: np.ndarray, k: int, stride: int = 8) -> np.ndarray:
    """Rows (ascending) that include every row whose value is ≥ the k-th largest, ~2k of them instead
    of all ~10^6: a threshold read off every `stride`-th value is checked to leave at least k rows
    at or above it, so the partition that follows runs on the candidates only and picks exactly what
    it would pick on all rows."""
    n = len(values)
    sample = values[::stride]
    r = min(2 * k // stride + 1, len(sample))
    if n < 8 * k or r >= len(sample):
        return np.arange(n)
    threshold = np.partition(sample, len(sample) - r)[len(sample) - r]
    cand = np.flatnonzero(values >= threshold)
    return cand if len(cand) >= k else np.arange(n)


def model_tokenizer(vocab: SampledVocab) -> Tokenizer:
    """Unigram model alone (no normalizer, no pre-tokenizer): encodes pre-tokens already in the
    byte-level alphabet."""
    return Tokenizer(
        models.Unigram(
            list(zip(vocab.pieces, vocab.scores.tolist())), unk_id=None, byte_fallback=False
        )
    )


def full_tokenizer(vocab: SampledVocab, source: Tokenizer | None = None) -> Tokenizer:
    """The complete tokenizer (prefix space, shared split, byte level, Unigram, specials), as saved to
    tokenizer.json.

    The source tokenizer's post-processor (e.g. BERT's `[CLS] … [SEP]` template) is kept, with
    special ids remapped where a special token moved."""
    tok = model_tokenizer(vocab)
    tok.normalizer = pretokenize.normalizer()
    tok.pre_tokenizer = pretokenize.pre_tokenizer()
    tok.decoder = pretokenize.decoder()
    tok.add_special_tokens(
        [AddedToken(s.token, special=True, normalized=False) for s in vocab.specials]
    )
    for s in vocab.specials:
        if tok.token_to_id(s.token) != s.id:
            raise TokenizerError(
                f"special token {s.token!r} landed on id {tok.token_to_id(s.token)}, expected "
                f"{s.id}"
            )
    if source is not None and source.post_processor is not None:
        tj = json.loads(tok.to_str())
        tj["post_processor"] = _remap_post_processor(
            json.loads(source.to_str())["post_processor"], vocab
        )
        tok = Tokenizer.from_str(json.dumps(tj))
    return tok


def _remap_post_processor(pp: dict, vocab: SampledVocab) -> dict:
    ids = {s.token: s.id for s in vocab.specials}

    def remap(token: str, old: int) -> int:
        if token not in ids:
            raise TokenizerError(
                f"the source post-processor uses {token!r} (id {old}), which is not a special token"
            )
        return ids[token]

    kind = pp.get("type")
    if kind == "Sequence":
        return {**pp, "processors": [_remap_post_processor(p, vocab) for p in pp["processors"]]}
    if kind == "TemplateProcessing":
        out = {}
        for name, st in pp.get("special_tokens", {}).items():
            out[name] = {**st, "ids": [remap(t, i) for t, i in zip(st["tokens"], st["ids"])]}
        return {**pp, "special_tokens": out}
    if kind in ("BertProcessing", "RobertaProcessing"):
        return {
            **pp,
            "sep": [pp["sep"][0], remap(*pp["sep"])],
            "cls": [pp["cls"][0], remap(*pp["cls"])],
        }
    return pp  # ByteLevel and others carry no ids
