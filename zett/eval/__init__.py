"""Evaluation metrics on the ground floor: bits per byte under one scoring protocol for every tokenizer
(`zett.eval.protocol` documents it), a model scored with its own or transferred embeddings, paired
bootstrap intervals, held-out text selection, log-likelihood multiple choice. The `zett bench` grid
lives in `zett.bench`."""

from zett.eval.bpb import BpbResult, bits_per_byte, score_documents
from zett.eval.choice import Choice, choose
from zett.eval.heldout import BibleSplit, bible_split, record_unit, select_passages
from zett.eval.model_bpb import evaluate_bpb
from zett.eval.protocol import (
    DEFAULT_PROTOCOL,
    ScoringProtocol,
    TokenizedDoc,
    attribute_bytes,
    plan_windows,
    tokenize_documents,
)
from zett.eval.reconstruction import reconstruction_stats
from zett.eval.stats import Interval, bootstrap_indices, paired_difference

__all__ = [
    "DEFAULT_PROTOCOL",
    "BibleSplit",
    "BpbResult",
    "Choice",
    "Interval",
    "ScoringProtocol",
    "TokenizedDoc",
    "attribute_bytes",
    "bible_split",
    "bits_per_byte",
    "bootstrap_indices",
    "choose",
    "evaluate_bpb",
    "paired_difference",
    "plan_windows",
    "record_unit",
    "score_documents",
    "select_passages",
    "reconstruction_stats",
    "tokenize_documents",
]
