"""Hypernetwork training step on CPU (or an accelerator) with the real SmolLM2: useful GFLOP/s of the
hypernet and of the base model against the machine's matmul ceiling measured in the same run.

    python benchmarks/train_step.py [--batch 8] [--block 128] [--subset 4096] [--steps 3]
        [--compare padded:7,packed:7,padded:15,packed:15] [--profile] [--glibc-malloc]

Each variant `layout:maxlen` builds the same batches (same texts, same sampled tokenizers) with
`surface_maxlen` = maxlen, the hypernet computing the surface forms padded ([k, maxlen]) or packed
(`collator.surface_pack_width` = 4 × maxlen, `zett.hypernet.packing`). Per variant, medians over
--steps after a compile step: the hypernet alone (forward + backward over the subset), the base model
alone (forward + backward to the embedding tables), the whole train step, and the collator.

Useful FLOPs count real work only, analytically (below): hypernet positions that are real pieces
(padding rows, padding positions and specials excluded), attention over a token's own pieces; base
model tokens under the attention mask, causal attention over earlier tokens, the LM head over real
subset rows. Forward + backward = 3 × forward for the hypernet (activation and weight gradients); 2 ×
forward for the frozen base model (activation gradients only) plus the LM head's weight gradient
(its table is predicted). XLA's own count of the compiled hypernet (padding included) is reported
too. The ceiling is XLA's fp32 matmul rate at each part's sizes; utilisation = useful rate /
ceiling. Data wait: the collator's time per batch beyond the step's, with one worker prefetching.

The machine may be shared: every figure carries the load average (`uptime`) taken around it; compare
variants within one run. Each time also has its process CPU seconds (all threads), and utilisation
is given both ways: wall rate / wall ceiling, and CPU-time rate / CPU-time ceiling (on a loaded
machine the latter tracks the work done, the former what other processes left over).
`--profile` adds XLA's kernel time by kind (fused matmuls, layout copies, ...) of one call of each
part (`finetune_profile.kernel_kinds`; kernels on both cores overlap, so sums can exceed the wall time).
The process runs under the glibc malloc settings the `zett` command gives itself
(`zett.cli.allocator`: huge pages, freed memory kept; `--glibc-malloc` for glibc's defaults).
Writes benchmarks/results/train_step.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

if (
    __name__ == "__main__" and "--glibc-malloc" not in sys.argv
):  # time the step under the `zett` command's malloc settings
    from zett.cli.allocator import reexec_with_tunables

    reexec_with_tunables()
if "--profile" in sys.argv:  # XLA's per-kernel trace events must be switched on before JAX starts
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true"
    ).strip()

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from machine import describe

from zett.assets import bible_db, resolve
from zett.hypernet.config import HypernetConfig
from zett.hypernet.losses import aux_loss, lm_nll, predicted_tables
from zett.hypernet.model import Hypernet
from zett.hypernet.optim import OptimConfig, make_optimizer
from zett.hypernet.step import train_step
from zett.models import load_pretrained
from zett.sampling import BibleTexts, Collator, CollatorConfig, SamplerConfig, batch_texts
from zett.tokenization import load_tokenizer


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


CPU = {}  # label → median process CPU seconds (all threads) of the last `timed` call with that label


def median_time(fn, steps: int, label: str | None = None) -> float:
    """Median wall seconds over `steps` calls after a warm-up call; with `label`, the median CPU
    seconds go to CPU[label] (on a shared machine CPU time tracks the work better than wall)."""
    fn()  # compile / warm up
    times, cpu = [], []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if label:
        CPU[label] = statistics.median(cpu)
    return statistics.median(times)


def compiled_flops(jitted, *args) -> float:
    cost = jitted.lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan")))


def matmul_ceiling(m: int, k: int, n: int, steps: int = 5) -> float:
    """GFLOP/s of XLA's fp32 [m, k] @ [k, n] on the default device."""
    a = jax.random.normal(jax.random.key(0), (m, k), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (k, n), jnp.float32)
    f = jax.jit(jnp.matmul)
    label = f"matmul_{m}x{k}x{n}"
    t = median_time(lambda: jax.block_until_ready(f(a, b)), steps, label)
    CPU[label] = 2 * m * k * n / CPU[label] / 1e9  # GFLOP per CPU second
    return 2 * m * k * n / t / 1e9


def hypernet_useful_flops(hcfg: HypernetConfig, source_dim: int, embed: int, batch) -> float:
    """Forward + backward FLOPs of the hypernet's real work on this batch's predicted tokens."""
    predict = np.asarray(batch.vocab_mask) & (np.asarray(batch.special_source_ids) < 0)
    n = np.maximum(np.asarray(batch.surface_lengths), 1)[predict].astype(np.float64)
    h, f = hcfg.hidden_size, hcfg.intermediate_size
    per_piece = 2 * source_dim * h + 4 * h * f + hcfg.num_layers * (2 * 4 * h * h + 4 * h * f)
    attention = hcfg.num_layers * 4 * h * (n**2).sum()  # q·k and p·v over the token's own pieces
    heads = 2 * h * embed * (2 if hcfg.predict_output_embeddings else 1) * n.size
    return 3 * (per_piece * n.sum() + attention + heads)


def base_useful_flops(model, batch) -> float:
    """Forward + input-gradient backward of the frozen base model over the real tokens, plus the
    LM head's weight gradient (its table is predicted)."""
    cfg = model.config
    vocab = cfg.vocab_size
    matmul_params = sum(  # kernels (attention ones are 3-D); not the tables, not biases
        int(np.prod(v.shape))
        for path, v in jax.tree_util.tree_leaves_with_path(nnx.state(model, nnx.Param))
        if v.ndim >= 2 and v.shape[0] != vocab and "bias" not in jax.tree_util.keystr(path)
    )
    mask = np.asarray(batch.attention_mask).astype(np.float64)
    tokens = mask.sum()
    earlier = (np.cumsum(mask, axis=1) * mask).sum()  # causal: keys per query, summed
    q_dim = cfg.num_attention_heads * cfg.resolved_head_dim
    attention = cfg.num_hidden_layers * 4 * q_dim * earlier
    head = 2 * tokens * int(np.asarray(batch.vocab_mask).sum()) * cfg.hidden_size
    return 2 * (2 * matmul_params * tokens + attention + head) + head


def run_variant(args, model, tok, e_in, layout: str, maxlen: int) -> dict:
    ccfg = CollatorConfig(
        batch_size=args.batch,
        block_size=args.block,
        n_subsample=args.subset,
        max_chars=1024,
        sampler=SamplerConfig(vocab_size=32768, window=4),
        surface_maxlen=maxlen,
        surface_pack_width=4 * maxlen if layout == "packed" else 0,
        num_workers=0,
    )
    collator = Collator(ccfg, tok)
    source = BibleTexts(db=str(bible_db()))
    step_no = [0]

    def collate():
        texts, langs = batch_texts(source, step_no[0], ccfg.batch_size, ccfg.max_chars, 0)
        step_no[0] += 1
        return collator(texts, np.random.default_rng(step_no[0]), lang_ids=langs, step=step_no[0])

    load0 = load()
    t_collate = median_time(collate, args.steps)
    batch = collate()
    hcfg = HypernetConfig(
        hidden_size=args.hidden,
        intermediate_size=2 * args.hidden,
        num_layers=3,
        surface_maxlen=maxlen,
    )
    hn = Hypernet(hcfg, e_in, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(hn, make_optimizer(replace(OptimConfig(), identity_steps=0)), wrt=nnx.Param)

    @nnx.jit
    def hyper_only(hn, batch):
        def loss(m):
            e, _, _ = predicted_tables(m, batch)
            return aux_loss(m, e, None, batch) + jnp.mean(jnp.square(e))

        return nnx.grad(loss)(hn)

    @jax.jit
    def base_only(e, batch):
        return jax.grad(lambda e: lm_nll(model, e, None, None, batch)[0])(e)

    e_sub = jnp.asarray(e_in[: args.subset])
    xla_hyper = compiled_flops(hyper_only, hn, batch)
    xla_base = compiled_flops(base_only, e_sub, batch)
    t_hyper = median_time(lambda: jax.block_until_ready(hyper_only(hn, batch)), args.steps, "hyper")
    t_base = median_time(lambda: jax.block_until_ready(base_only(e_sub, batch)), args.steps, "base")
    t_step = median_time(
        lambda: jax.block_until_ready(train_step(hn, opt, model, batch)["loss"]),
        args.steps,
        "step",
    )
    kernels = {}
    if args.profile:
        from finetune_profile import kernel_kinds

        kernels = {
            "hypernet_fwd_bwd": kernel_kinds(hyper_only, (hn, batch)),
            "base_fwd_bwd": kernel_kinds(base_only, (e_sub, batch)),
            "train_step": kernel_kinds(lambda: train_step(hn, opt, model, batch)["loss"], ()),
        }
    useful_h = hypernet_useful_flops(hcfg, hn.source_dim, hn.embed_dim, batch)
    useful_b = base_useful_flops(model, batch)
    tokens = int(np.asarray(batch.attention_mask).sum())
    lengths = np.asarray(batch.surface_lengths)
    real = np.asarray(batch.vocab_mask)
    positions = batch.pack_rows * batch.pack_width if batch.pack else lengths.size * maxlen
    return {
        "layout": layout,
        "surface_maxlen": maxlen,
        "pack_rows_x_width": [batch.pack_rows, batch.pack_width],
        "tokens_per_batch": tokens,
        "hypernet_positions": int(positions),
        "hypernet_real_pieces": int(np.maximum(lengths, 1)[real].sum()),
        "n_truncated": int(batch.n_truncated),
        "collator_s": t_collate,
        "hypernet_fwd_bwd_s": t_hyper,
        "base_fwd_bwd_s": t_base,
        "train_step_s": t_step,
        "hypernet_useful_gflop": useful_h / 1e9,
        "hypernet_xla_gflop": xla_hyper / 1e9,
        "hypernet_useful_gflop_per_s": useful_h / 1e9 / t_hyper,
        "base_useful_gflop": useful_b / 1e9,
        "base_xla_gflop": xla_base / 1e9,
        "base_useful_gflop_per_s": useful_b / 1e9 / t_base,
        "step_useful_gflop_per_s": (useful_h + useful_b) / 1e9 / t_step,
        "step_tokens_per_s": tokens / t_step,
        "cpu_s": {
            "hypernet_fwd_bwd": CPU["hyper"],
            "base_fwd_bwd": CPU["base"],
            "train_step": CPU["step"],
        },
        "hypernet_useful_gflop_per_cpu_s": useful_h / 1e9 / CPU["hyper"],
        "base_useful_gflop_per_cpu_s": useful_b / 1e9 / CPU["base"],
        "step_tokens_per_cpu_s": tokens / CPU["step"],
        "data_wait_s_one_worker": max(t_collate - t_step, 0.0),
        "end_to_end_tokens_per_s_one_process": tokens / (t_step + t_collate),
        "load_average_before_after": [load0, load()],
        **({"kernel_seconds_by_kind": kernels} if kernels else {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--subset", type=int, default=4096)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument(
        "--compare",
        default="padded:7,packed:7,packed:15",
        help="comma-separated layout:maxlen variants (layout: padded or packed)",
    )
    ap.add_argument("--out", default="benchmarks/results/train_step.json")
    ap.add_argument("--profile", action="store_true", help="add XLA's kernel time by kind")
    ap.add_argument(
        "--glibc-malloc",
        action="store_true",
        help="glibc's default malloc, not the `zett` command's settings (zett.cli.allocator)",
    )
    args = ap.parse_args()

    model = load_pretrained(resolve("smollm2"))
    tok = load_tokenizer(resolve("smollm2"))
    e_in = np.asarray(model.get_input_embeddings())
    cfg = model.config
    h = args.hidden
    ceiling = {
        "load_average": load(),
        "hypernet_gflop_per_s": matmul_ceiling(16384, h, 2 * h),
        "base_gflop_per_s": matmul_ceiling(
            args.batch * args.block, cfg.hidden_size, cfg.intermediate_size
        ),
    }
    ceiling["hypernet_gflop_per_cpu_s"], ceiling["base_gflop_per_cpu_s"] = (
        v for k, v in CPU.items() if k.startswith("matmul_")
    )
    print("ceiling", ceiling, flush=True)
    variants = []
    for spec in args.compare.split(","):
        layout, maxlen = spec.split(":")
        if layout not in ("padded", "packed"):
            raise SystemExit(f"--compare: layout must be padded or packed, got {layout!r}")
        v = run_variant(args, model, tok, e_in, layout, int(maxlen))
        v["hypernet_utilisation"] = (
            v["hypernet_useful_gflop_per_s"] / ceiling["hypernet_gflop_per_s"]
        )
        v["base_utilisation"] = v["base_useful_gflop_per_s"] / ceiling["base_gflop_per_s"]
        v["hypernet_utilisation_cpu_time"] = (
            v["hypernet_useful_gflop_per_cpu_s"] / ceiling["hypernet_gflop_per_cpu_s"]
        )
        v["base_utilisation_cpu_time"] = (
            v["base_useful_gflop_per_cpu_s"] / ceiling["base_gflop_per_cpu_s"]
        )
        print(json.dumps(v), flush=True)
        variants.append(v)
        write(args, ceiling, variants)  # after every variant: a long run keeps what it measured


def write(args, ceiling: dict, variants: list[dict]) -> None:
    ceiling["load_average_end"] = load()
    result = {
        "benchmark": "train_step",
        "command": "python benchmarks/train_step.py "
        + " ".join(
            f"--{k}" if v is True else f"--{k} {v}"
            for k, v in vars(args).items()
            if k != "out" and v is not False
        ),
        "machine": describe(jax.devices()[0].platform),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        "shared_machine_note": "load averages recorded around every figure; compare within a run",
        "base_model": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32)",
        "batch": args.batch,
        "block": args.block,
        "subset_k": args.subset,
        "hypernet_hidden": args.hidden,
        "matmul_ceiling": ceiling,
        "variants": variants,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
