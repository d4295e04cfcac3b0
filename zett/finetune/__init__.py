"""zett.finetune: continue training after a transfer — the model itself (embeddings first, then
every parameter) or, n-shot, its hypernetwork on one target tokenizer — and the short-training
probe of the benchmark.

    cfg = load_config(FinetuneConfig, "experiments/finetune/smollm2-de.yaml", ["full.steps=0"])
    result = finetune(cfg)            # → result.out, an HF checkpoint
    tuned = probe(model, tokenizer, tables, texts, ProbeConfig(steps=50))
"""

from zett.finetune.config import (
    EmbeddingsPhase,
    FinetuneConfig,
    FinetuneData,
    FullPhase,
    NShotConfig,
    NShotPhase,
    OptimConfig,
    PhaseConfig,
)
from zett.finetune.run import FinetuneResult, finetune

__all__ = [
    "EmbeddingsPhase",
    "FinetuneConfig",
    "FullPhase",
    "NShotPhase",
    "FinetuneData",
    "FinetuneResult",
    "NShotConfig",
    "OptimConfig",
    "PhaseConfig",
    "finetune",
]
