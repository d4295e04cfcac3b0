"""Evaluation: bits per byte under any tokenizer, the `zett bench` grid, log-likelihood multiple
choice."""

from zett.eval.bench import Bench, BenchConfig, run_bench
from zett.eval.bpb import BpbResult, bits_per_byte
from zett.eval.choice import Choice, choose
from zett.eval.model_bpb import evaluate_bpb
from zett.eval.reconstruction import reconstruction_stats
from zett.eval.report import write_report

__all__ = [
    "Bench",
    "BenchConfig",
    "BpbResult",
    "Choice",
    "bits_per_byte",
    "choose",
    "evaluate_bpb",
    "reconstruction_stats",
    "run_bench",
    "write_report",
]
