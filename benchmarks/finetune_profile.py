"""Where a full-parameter fine-tuning step spends its time on the CPU: the parts timed apart (forward,
forward + backward, AdamW update, the whole update) with XLA's FLOP count, and XLA's own profile of
forward + backward summed by kernel kind (fused matmuls, layout copies, ...).

SmolLM2-135M-Instruct (packaged GGUF, fp32), the 4 × 128 ids of `finetune_speed.py`, `zett finetune`'s
loss (`lm_loss`, default chunk). Kernel times come from `jax.profiler.trace` with XLA's per-kernel trace
events switched on (this script sets `--xla_cpu_enable_xprof_traceme=true` before JAX starts); kernels
that run concurrently overlap, so their sum can exceed the wall time. Pass XLA flags to compare (e.g.
`XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=dot,eltwise,reduce`). The process runs under the
`zett` command's glibc malloc settings (`zett.cli.allocator`; `--glibc-malloc`: glibc's defaults). Usage:
    python benchmarks/finetune_profile.py [--iters 3] [--out benchmarks/results/finetune_profile.json]
        [--glibc-malloc]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model

HERE = Path(__file__).parent


def best_of(fn, args, iters: int) -> float:
    import jax

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return min(times)


def kernel_kinds(fn, args) -> dict[str, dict[str, float]]:
    """Seconds and calls per kernel kind (the fusion name without its number) of one call."""
    import jax

    with tempfile.TemporaryDirectory() as d:
        options = jax.profiler.ProfileOptions()
        options.python_tracer_level = 0
        with jax.profiler.trace(d, create_perfetto_trace=True, profiler_options=options):
            jax.block_until_ready(fn(*args))
        trace = next(Path(d).rglob("*.trace.json.gz"))
        events = json.load(gzip.open(trace))["traceEvents"]
    skip = ("ThunkExecutor", "$", "PjitFunction", "SlinkyThreadPool", "while", "end:")
    seconds: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not e["name"].startswith(skip):
            kind = re.sub(r"\.\d+$", "", e["name"])
            seconds[kind] += e.get("dur", 0) / 1e6
            calls[kind] += 1
    return {k: {"seconds": s, "calls": calls[k]} for k, s in seconds.most_common(12)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "finetune_profile.json"))
    parser.add_argument(
        "--glibc-malloc",
        action="store_true",
        help="glibc's default malloc, not the `zett` command's settings (zett.cli.allocator)",
    )
    args = parser.parse_args()
    if not args.glibc_malloc:
        from zett.cli.allocator import reexec_with_tunables

        reexec_with_tunables()
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_enable_xprof_traceme=true".strip()

    import jax
    import optax
    from flax import nnx

    sys.path.insert(0, str(HERE))
    from finetune_speed import lm_batch, text_ids
    from train_step import compiled_flops

    from zett import assets
    from zett.finetune.loss import lm_loss
    from zett.models import load_pretrained
    from zett.tokenization import load_tokenizer

    load_start = os.getloadavg()
    model = load_pretrained(assets.smollm2_gguf())
    ids = text_ids(load_tokenizer("smollm2").tokenizer, 4, 128)
    batch = lm_batch(ids)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(params, batch):
        return lm_loss(nnx.merge(graphdef, params, rest), batch, True, None)[0]

    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-5, b1=0.9, b2=0.95))
    opt_state = tx.init(params)
    forward = jax.jit(loss)
    forward_backward = jax.jit(jax.value_and_grad(loss))
    grads = forward_backward(params, batch)[1]

    @jax.jit
    def adamw(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    @jax.jit
    def update(params, opt_state, batch):
        grads = jax.grad(loss)(params, batch)
        return adamw(params, opt_state, grads)

    parts = {
        "forward": (forward, (params, batch)),
        "forward_backward": (forward_backward, (params, batch)),
        "adamw": (adamw, (params, opt_state, grads)),
        "update": (update, (params, opt_state, batch)),
    }
    rows = {}
    for name, (fn, fn_args) in parts.items():
        s = best_of(fn, fn_args, args.iters)
        flops = compiled_flops(fn, *fn_args)
        rows[name] = {"seconds": s, "xla_gflop": flops / 1e9, "gflop_per_s": flops / 1e9 / s}
        print(f"{name:17s} {s:6.3f} s  {flops / 1e9:6.1f} GFLOP  {flops / 1e9 / s:6.1f} GFLOP/s")
    kinds = kernel_kinds(forward_backward, (params, batch))
    print("forward + backward, kernel time by kind (one call):")
    for k, v in kinds.items():
        print(f"  {v['seconds']:6.3f} s  x{v['calls']:5d}  {k}")
    result = {
        "what": "SmolLM2-135M-Instruct full-parameter step (4 x 128 tokens, fp32) by part",
        "parts": rows,
        "forward_backward_kernels": kinds,
        "xla_flags": flags,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        "command": "python benchmarks/finetune_profile.py " + " ".join(sys.argv[1:]),
        "machine": {
            "cpu_model": cpu_model(),
            "cpus": os.cpu_count(),
            "loadavg_at_start": load_start,
            "loadavg_at_end": os.getloadavg(),
            "jax": jax.__version__,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
