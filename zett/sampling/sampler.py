"""The tokenizer sampler: counts each batch into the window, then draws a noisy UnigramLM vocabulary
from it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zett.tokenization.canonical import SpecialToken

from .config import SamplerConfig
from .pretokenize import PreTokenized, pre_tokenize
from .substrings import SubstringOccurrences, SubstringStats, count_occurrences, count_substrings
from .unigram import SampledVocab, sample_sigma, sample_vocab, sample_vocab_size
from .window import SubstringWindow


class TokenizerSampler:
    """Stateful over batches: the window holds the last `config.window` batches' statistics.

    `observe` adds a batch (the current one must be observed before `sample`, so the training texts
    are always among the sampling texts); `sample` draws size, σ and the noisy vocabulary from
    `rng`."""

    def __init__(self, config: SamplerConfig | None = None, specials: Sequence[SpecialToken] = ()):
        self.config = config = config if config is not None else SamplerConfig()
        self.specials = tuple(specials)
        self.window = SubstringWindow(config.window)

    def count(self, pre: PreTokenized) -> SubstringStats:
        c = self.config
        return count_substrings(pre.words, pre.counts, c.max_substring_len, c.char_aligned)

    def count_occurrences(self, pre: PreTokenized) -> tuple[SubstringStats, SubstringOccurrences]:
        """`count` and where the substrings occur (the encoder of the same batch reuses them)."""
        c = self.config
        return count_occurrences(pre.words, pre.counts, c.max_substring_len, c.char_aligned)

    def observe(self, pre: PreTokenized) -> None:
        self.window.push(self.count(pre))

    def sample(self, rng: np.random.Generator) -> SampledVocab:
        size = sample_vocab_size(self.config, rng)
        sigma = sample_sigma(self.config, rng)
        return sample_vocab(
            self.window, size, sigma, rng, self.specials, self.config.max_substring_len
        )

    def __call__(
        self, texts: Sequence[str] | PreTokenized, rng: np.random.Generator
    ) -> SampledVocab:
        pre = texts if isinstance(texts, PreTokenized) else pre_tokenize(texts)
        self.observe(pre)
        return self.sample(rng)
