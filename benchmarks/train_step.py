"""Hypernetwork training step on CPU with the real SmolLM2: time split into collator / hypernet / base
model.

    python benchmarks/train_step.py [--batch 8] [--block 128] [--subset 4096] [--steps 5]

Times (median over --steps after one compile step): the collator building a batch from corpus text,
the hypernet alone (forward + backward over the vocabulary subset), and the whole step; the base
model's share is whole − hypernet. Writes benchmarks/results/train_step.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.assets import bible_db, resolve
from zett.hypernet.config import HypernetConfig
from zett.hypernet.losses import aux_loss, predicted_tables
from zett.hypernet.model import Hypernet
from zett.hypernet.optim import OptimConfig, make_optimizer
from zett.hypernet.step import train_step
from zett.models import load_pretrained
from zett.sampling import BibleTexts, Collator, CollatorConfig, SamplerConfig, batch_texts
from zett.tokenization import load_tokenizer


def median_time(fn, steps: int) -> float:
    fn()  # compile / warm up
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compiled_flops(jitted, *args) -> float:
    cost = jitted.lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--subset", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/results/train_step.json")
    args = ap.parse_args()

    model = load_pretrained(resolve("smollm2"))
    tok = load_tokenizer(resolve("smollm2"))
    ccfg = CollatorConfig(
        batch_size=args.batch,
        block_size=args.block,
        n_subsample=args.subset,
        max_chars=1024,
        sampler=SamplerConfig(vocab_size=32768, window=4),
        num_workers=0,
    )
    collator = Collator(ccfg, tok)
    source = BibleTexts(db=str(bible_db()))
    step_no = [0]

    def collate():
        texts, langs = batch_texts(source, step_no[0], ccfg.batch_size, ccfg.max_chars, 0)
        step_no[0] += 1
        return collator(texts, np.random.default_rng(step_no[0]), lang_ids=langs, step=step_no[0])

    t_collate = median_time(collate, args.steps)
    batch = collate()
    e_in = np.asarray(model.get_input_embeddings())
    hcfg = HypernetConfig(
        hidden_size=args.hidden, intermediate_size=2 * args.hidden, num_layers=3, surface_maxlen=7
    )
    hn = Hypernet(hcfg, e_in, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(hn, make_optimizer(replace(OptimConfig(), identity_steps=0)), wrt=nnx.Param)

    @nnx.jit
    def hyper_only(hn, batch):
        def loss(m):
            e, _, _ = predicted_tables(m, batch)
            return aux_loss(m, e, None, batch) + jnp.mean(jnp.square(e))

        return nnx.grad(loss)(hn)

    # XLA's own FLOP count says whether a slow step is wasted work or just work: achieved GFLOP/s
    # near the CPU's dense-matmul rate means the hypernet over k × maxlen pieces is FLOP-bound, not
    # mis-compiled.
    hyper_flops = compiled_flops(hyper_only, hn, batch)
    t_hyper = median_time(lambda: jax.block_until_ready(hyper_only(hn, batch)), args.steps)
    t_step = median_time(
        lambda: jax.block_until_ready(train_step(hn, opt, model, batch)["loss"]), args.steps
    )
    tokens = int(np.asarray(batch.attention_mask).sum())
    n_pieces = int(np.asarray(batch.surface_lengths).sum())
    result = {
        "benchmark": "train_step",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {jax.devices()[0].platform}",
        "base_model": "SmolLM2-135M (GGUF, fp32)",
        "batch": args.batch,
        "block": args.block,
        "subset_k": args.subset,
        "hypernet_hidden": args.hidden,
        "tokens_per_batch": tokens,
        "collator_s": t_collate,
        "hypernet_fwd_bwd_s": t_hyper,
        "train_step_s": t_step,
        "base_model_share_s": max(t_step - t_hyper, 0.0),
        "hypernet_fwd_bwd_gflop": hyper_flops / 1e9,
        "hypernet_achieved_gflop_per_s": hyper_flops / 1e9 / t_hyper,
        "hypernet_positions": int(np.prod(np.asarray(batch.surface_ids).shape)),
        "hypernet_real_pieces": n_pieces,
        "load_average": os.getloadavg(),
        "step_tokens_per_s": tokens / t_step,
        "end_to_end_tokens_per_s_one_process": tokens / (t_step + t_collate),
    }
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
