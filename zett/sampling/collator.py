"""The collator: texts → a sampled tokenizer, token ids, labels, the batch's vocabulary subset and its
surface forms."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from zett.tokenization import Decomposer, canonicalize, load_tokenizer
from zett.tokenization.byte_alphabet import TokenizerError

from .batch import IGNORE, Batch
from .config import CollatorConfig
from .packing import packing
from .pretokenize import PREFIX, PreTokenized, pre_tokenize
from .sampler import TokenizerSampler
from .substrings import SubstringOccurrences, SubstringStats
from .surface_cache import SurfaceCache
from .unigram import SampledVocab, full_tokenizer
from .viterbi import VocabIndex, viterbi_encode


class Collator:
    """Built once per process from the config and the base (source) tokenizer; holds the sampler's
    window.

    `__call__(texts, rng)` must be called on consecutive batches of one stream: each call pushes the
    batch into the window before sampling. `timings` (CPU seconds per stage of the last call, or of
    the last stage method called on its own) feed the benchmarks."""

    def __init__(self, config: CollatorConfig, source: Any):
        self.config = config
        loaded = load_tokenizer(source)
        self.source: Tokenizer = Tokenizer.from_str(loaded.tokenizer.to_str())
        self.source.no_padding()
        self.source.no_truncation()
        self.source_vocab = canonicalize(loaded)
        self.decomposer = Decomposer(loaded, maxlen=config.surface_maxlen)
        self.surfaces = SurfaceCache(self.decomposer)
        _ = (
            self.decomposer._vector_bpe
        )  # built once here (~0.1 s for 49k merges), not inside the first batch
        self._samplers: dict[int, TokenizerSampler] = {}
        self._source_special_id = {s.token: s.id for s in self.source_vocab.specials}
        self.prefix, self.suffix = _special_template(self.source)
        if config.objective == "mlm" and self.source_vocab.special("mask") is None:
            raise TokenizerError(
                "objective 'mlm' needs a mask token, and the base tokenizer has none"
            )
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------------------------------------------
    def sampler(self, stream: int = 0) -> TokenizerSampler:
        """The sampler (and so the substring window) of one stream."""
        if stream not in self._samplers:
            self._samplers[stream] = TokenizerSampler(
                self.config.sampler, self.source_vocab.specials
            )
        return self._samplers[stream]

    def sample_tokenizer(
        self, texts: Sequence[str], rng: np.random.Generator, stream: int = 0
    ) -> SampledVocab:
        return self.sampler(stream)(texts, rng)

    def tokenizer(self, vocab: SampledVocab) -> Tokenizer:
        """The complete tokenizer of a sampled vocabulary (what `zett sample` saves)."""
        return full_tokenizer(vocab, self.source)

    def warm_up(self, texts: Sequence[str], stream: int = 0) -> None:
        """Pushes a past batch into the window without producing anything (resuming a stream)."""
        self.sampler(stream).observe(pre_tokenize(texts))

    def __call__(
        self,
        texts: Sequence[str],
        rng: np.random.Generator,
        lang_ids: Sequence[int] | None = None,
        step: int = 0,
        stream: int = 0,
    ) -> Batch:
        """One batch: count `texts` into the window, draw a tokenizer from `rng`, encode `texts`.

        The three stages are also separate methods (`count`, `draw`, `encode`): a host of a
        multi-host run counts only its own texts, draws from the statistics merged over every host
        (`zett.sampling.merge_stats`) and encodes its own texts."""
        pre, stats, occurrences = self.count(texts, stream)
        timings = self.timings
        vocab = self.draw(stats, rng, stream)
        timings |= self.timings
        batch = self.encode(vocab, pre, occurrences, rng, lang_ids, step)
        self.timings = timings | self.timings
        return batch

    def count(
        self, texts: Sequence[str], stream: int = 0
    ) -> tuple[PreTokenized, SubstringStats, SubstringOccurrences]:
        """Pre-tokens of `texts`, their substring statistics, and where the substrings occur (which
        `encode` of the same texts reuses)."""
        clock = time.process_time
        t0 = clock()
        pre = pre_tokenize(texts)
        t1 = clock()
        stats, occurrences = self.sampler(stream).count_occurrences(pre)
        self.timings = {"pretokenize": t1 - t0, "count": clock() - t1}
        return pre, stats, occurrences

    def draw(
        self, stats: SubstringStats, rng: np.random.Generator, stream: int = 0
    ) -> SampledVocab:
        """Pushes a batch's statistics into `stream`'s window and samples a vocabulary from it."""
        t0 = time.process_time()
        sampler = self.sampler(stream)
        sampler.window.push(stats)
        vocab = sampler.sample(rng)
        self.timings = {"sample": time.process_time() - t0}
        return vocab

    def encode(
        self,
        vocab: SampledVocab,
        pre: PreTokenized,
        occurrences: SubstringOccurrences | None,
        rng: np.random.Generator,
        lang_ids: Sequence[int] | None = None,
        step: int = 0,
    ) -> Batch:
        """The batch of the texts `pre` under `vocab`: `rng` drives MLM masking and the subset's
        negatives; `occurrences` (from `count` of the same texts, or None) speed up encoding."""
        cfg = self.config
        clock = time.process_time
        t2 = clock()
        index = VocabIndex(vocab)
        t_build = clock()
        words = viterbi_encode(vocab, pre, cfg.sampler.char_aligned, index, occurrences)
        t3 = clock()
        input_ids, attention = self._layout(vocab, words, pre.text_words)
        n_bytes = self._n_bytes(vocab, input_ids, attention)
        labels = self._labels(vocab, input_ids, attention, rng)  # MLM: corrupts input_ids in place
        rows, n_in_batch = self._subset(vocab, input_ids, labels, rng)
        t4 = clock()
        surface, n_truncated = self._surface_forms(vocab, rows)
        t5 = clock()

        real = rows >= 0
        vocab_ids = np.where(real, rows, 0)
        inverse = np.full(vocab.size, -1, dtype=np.int64)
        inverse[rows[real]] = np.flatnonzero(real)
        langs = np.asarray(
            lang_ids if lang_ids is not None else np.zeros(len(pre.text_words)), dtype=np.int32
        )
        one_language = cfg.lang_sampling == "one_per_batch" and langs.size
        batch = Batch(
            input_ids=inverse[input_ids].astype(np.int32),
            attention_mask=attention.astype(np.int32),
            labels=np.where(labels >= 0, inverse[np.maximum(labels, 0)], IGNORE).astype(np.int32),
            **surface,
            vocab_mask=real,
            n_bytes=n_bytes,
            **packing(surface["surface_lengths"], cfg.surface_maxlen, cfg.surface_pack_width),
            language=np.asarray(langs[0], np.int32) if one_language else None,
            lang_ids=langs,
            vocab_ids=vocab_ids.astype(np.int32),
            vocab_scores=np.where(real, vocab.scores[vocab_ids], 0.0).astype(np.float32),
            step=step,
            vocab_size=vocab.size,
            sigma=vocab.sigma,
            n_in_batch=n_in_batch,
            n_truncated=n_truncated,
        )
        self.timings = {
            "build": t_build - t2,
            "encode": t3 - t_build,
            "collate": t4 - t3,
            "decompose": t5 - t4,
        }
        self.last_vocab = vocab
        return batch

    # ------------------------------------------------------------------------------------------------------
    def _target_id(self, vocab: SampledVocab, source_id: int) -> int:
        token = next(s.token for s in self.source_vocab.specials if s.id == source_id)
        return next(s.id for s in vocab.specials if s.token == token)

    def _layout(self, vocab: SampledVocab, words, text_words) -> tuple[np.ndarray, np.ndarray]:
        """`[batch, block]` sampled-tokenizer ids with the base's specials around each text,
        right-padded."""
        block = self.config.block_size
        prefix = [self._target_id(vocab, i) for i in self.prefix]
        suffix = [self._target_id(vocab, i) for i in self.suffix]
        budget = block - len(prefix) - len(suffix)
        if budget < 1:
            raise ValueError(
                f"block_size {block} leaves no room beside {len(prefix) + len(suffix)} special "
                f"tokens"
            )
        pad = self._pad_id(vocab)
        ids = np.full((len(text_words), block), pad, dtype=np.int64)
        attention = np.zeros((len(text_words), block), dtype=bool)
        for i, tw in enumerate(text_words):
            row = np.concatenate([prefix, words.text_ids(tw, budget), suffix]).astype(np.int64)
            ids[i, : len(row)] = row
            attention[i, : len(row)] = True
        return ids, attention

    def _pad_id(self, vocab: SampledVocab) -> int:
        for role in ("pad", "eos", "unk"):
            s = next((s for s in vocab.specials if role in s.roles), None)
            if s is not None:
                return s.id
        return 0  # a byte piece: masked out by attention and labels anyway

    def _labels(
        self, vocab: SampledVocab, ids: np.ndarray, attention: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        if self.config.objective == "clm":
            return np.where(attention, ids, IGNORE)
        # MLM (BERT): 15% of the non-special tokens; of those 80% → mask, 10% → a random token, 10%
        # kept
        ids_in = ids.copy()
        candidates = attention & ~np.isin(ids, vocab.special_ids)
        chosen = candidates & (rng.random(ids.shape) < self.config.mlm_probability)
        labels = np.where(chosen, ids, IGNORE)
        mask_id = next(s.id for s in vocab.specials if "mask" in s.roles)
        u = rng.random(ids.shape)
        ids_in[chosen & (u < 0.8)] = mask_id
        to_random = chosen & (u >= 0.8) & (u < 0.9)
        regular = np.setdiff1d(np.arange(vocab.size), vocab.special_ids)
        ids_in[to_random] = rng.choice(regular, size=int(to_random.sum()))
        ids[...] = ids_in  # the caller's array now holds the corrupted input
        return labels

    def _subset(
        self, vocab: SampledVocab, ids: np.ndarray, labels: np.ndarray, rng: np.random.Generator
    ):
        """Rows of the batch's vocabulary: sorted in-batch tokens ∪ specials ∪ uniform negatives,
        −1-padded to k."""
        in_batch = np.union1d(np.union1d(ids.ravel(), labels[labels >= 0]), vocab.special_ids)
        k = self.config.n_subsample
        if k is None:
            c = self.config.sampler
            k = c.vocab_size if c.vocab_size_dist == "fixed" else c.vocab_size_max
            k = max(k, vocab.size)
            chosen = np.arange(vocab.size)
        else:
            if len(in_batch) > k:
                raise ValueError(
                    f"the batch uses {len(in_batch)} distinct tokens (specials included) but "
                    f"n_subsample "
                    f"is {k}; raise collator.n_subsample or lower batch_size/block_size"
                )
            rest = np.setdiff1d(np.arange(vocab.size), in_batch, assume_unique=True)
            n_neg = min(k - len(in_batch), len(rest))
            negatives = (
                rng.choice(rest, size=n_neg, replace=False) if n_neg else np.zeros(0, np.int64)
            )
            chosen = np.sort(np.concatenate([in_batch, negatives]))
        rows = np.full(k, -1, dtype=np.int64)
        rows[: len(chosen)] = chosen
        return rows, len(in_batch)

    def _n_bytes(self, vocab: SampledVocab, ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        """UTF-8 bytes of text each row covers: its regular pieces' bytes minus the prefix space
        ([batch] int32)."""
        piece_bytes = np.fromiter(map(len, vocab.pieces), dtype=np.int64, count=vocab.size)
        piece_bytes[vocab.special_ids] = 0
        covered = (piece_bytes[ids] * attention).sum(axis=1)
        return np.maximum(covered - len(PREFIX), 0).astype(np.int32)

    def _surface_forms(
        self, vocab: SampledVocab, rows: np.ndarray
    ) -> tuple[dict[str, np.ndarray], int]:
        k, m = len(rows), self.config.surface_maxlen
        ids = np.zeros((k, m), dtype=np.int32)
        lengths = np.zeros(k, dtype=np.int32)
        special_source = np.full(k, -1, dtype=np.int32)
        source_ids = np.full(k, -1, dtype=np.int32)
        real = np.flatnonzero(rows >= 0)
        is_special = np.isin(rows[real], vocab.special_ids)
        special_rows, regular_rows = real[is_special], real[~is_special]
        token_of = {s.id: s.token for s in vocab.specials}
        for r in special_rows.tolist():
            sid = self._source_special_id[token_of[int(rows[r])]]
            ids[r, 0] = special_source[r] = source_ids[r] = sid
            lengths[r] = 1
        pieces = [vocab.pieces[i] for i in rows[regular_rows].tolist()]
        ids[regular_rows], lengths[regular_rows], n_truncated, source_ids[regular_rows] = (
            self.surfaces.lookup(pieces)
        )
        arrays = {
            "surface_ids": ids,
            "surface_lengths": lengths,
            "special_source_ids": special_source,
            "source_ids": source_ids,
        }
        return arrays, n_truncated


def _special_template(source: Tokenizer) -> tuple[list[int], list[int]]:
    """Source ids of the special tokens the base tokenizer puts before and after a text (e.g. [CLS] …
    [SEP])."""
    enc = source.encode("a b", add_special_tokens=True)
    mask = enc.special_tokens_mask
    ids = enc.ids
    first = next((i for i, m in enumerate(mask) if not m), len(ids))
    last = max((i for i, m in enumerate(mask) if not m), default=len(ids) - 1)
    return list(ids[:first]), list(ids[last + 1 :])
