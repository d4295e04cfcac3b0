"""Encodes a batch's unique pre-tokens with a sampled vocabulary and lays the ids out per text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pretokenize import PreTokenized
from .unigram import SampledVocab, model_tokenizer


@dataclass(frozen=True)
class WordIds:
    """Token ids of every unique pre-token: word j is `ids[starts[j] : starts[j] + lengths[j]]`
    ([n_words] int64 each)."""

    ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def text_ids(self, words: np.ndarray, limit: int | None = None) -> np.ndarray:
        """Ids of a text given its pre-token indices, cut after `limit` ids ([n] int64)."""
        lens = self.lengths[words]
        if limit is not None and len(lens):
            cum = np.cumsum(lens)
            n_words = int(np.searchsorted(cum, limit)) + 1
            words, lens = words[:n_words], lens[:n_words]
        total = int(lens.sum())
        offsets = np.repeat(self.starts[words] - (np.cumsum(lens) - lens), lens)
        out = self.ids[offsets + np.arange(total)]
        return out[:limit] if limit is not None else out


def encode_words(vocab: SampledVocab, pre: PreTokenized) -> WordIds:
    """Unigram Viterbi over each unique pre-token in Rust (`tokenizers`), as the saved tokenizer does
    it: the reference `viterbi.viterbi_encode` must equal (tests) and is timed against (benchmark).
    """
    tok = model_tokenizer(vocab)
    encs = tok.encode_batch_fast(list(pre.words), add_special_tokens=False)
    lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
    ids = np.fromiter((i for e in encs for i in e.ids), dtype=np.int64, count=int(lengths.sum()))
    return WordIds(ids, np.cumsum(lengths) - lengths, lengths)
