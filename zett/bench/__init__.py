"""`zett bench`: the grid of models × target tokenizers × languages × embedding methods, scored with
`zett.eval`'s bits per byte, resumable, written as tables and plots."""

from zett.bench.cells import Cell, plan_cells
from zett.bench.config import BenchConfig, Domain, Probe
from zett.bench.report import write_report
from zett.bench.runner import Bench, report_only, run_bench
from zett.bench.tokenizers import make_bytes_tokenizer, train_unigram

__all__ = [
    "Bench",
    "BenchConfig",
    "Domain",
    "Probe",
    "Cell",
    "make_bytes_tokenizer",
    "plan_cells",
    "report_only",
    "run_bench",
    "train_unigram",
    "write_report",
]
