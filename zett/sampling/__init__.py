"""Tokenizer sampling: substring statistics over text batches, noisy UnigramLM tokenizers, and the
collator."""

from .batch import IGNORE, Batch
from .collator import Collator
from .config import CollatorConfig, SamplerConfig
from .pipeline import BatchStream, DataParts, Exchange, PipelineState, make_batch, make_batches
from .pretokenize import SPLIT_PATTERN, PreTokenized, pre_tokenize
from .sampler import TokenizerSampler
from .substrings import SubstringStats, count_substrings, merge_stats
from .texts import BibleTexts, CorpusTexts, InMemoryTexts, TextSource, batch_texts, read_text_file
from .unigram import SampledVocab, full_tokenizer, sample_vocab
from .window import SubstringWindow

__all__ = [
    "IGNORE",
    "SPLIT_PATTERN",
    "Batch",
    "BatchStream",
    "BibleTexts",
    "Collator",
    "CollatorConfig",
    "CorpusTexts",
    "DataParts",
    "Exchange",
    "InMemoryTexts",
    "PipelineState",
    "PreTokenized",
    "SampledVocab",
    "SamplerConfig",
    "SubstringStats",
    "SubstringWindow",
    "TextSource",
    "TokenizerSampler",
    "batch_texts",
    "count_substrings",
    "full_tokenizer",
    "make_batch",
    "make_batches",
    "merge_stats",
    "pre_tokenize",
    "read_text_file",
    "sample_vocab",
]
