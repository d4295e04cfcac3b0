"""Evaluation metrics: bits per byte under any tokenizer, a model scored with its own or transferred
embeddings, log-likelihood multiple choice. The `zett bench` grid lives in `zett.bench`."""

from zett.eval.bpb import BpbResult, bits_per_byte
from zett.eval.choice import Choice, choose
from zett.eval.model_bpb import evaluate_bpb

__all__ = ["BpbResult", "Choice", "bits_per_byte", "choose", "evaluate_bpb"]
