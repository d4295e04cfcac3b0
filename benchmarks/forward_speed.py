"""Forward tokens/s of zett (jit, fp32) vs transformers PyTorch (fp32) on the real SmolLM2-135M
weights.

Both models are built from the same GGUF (dequantised by `zett.checkpoint.read_gguf`), run the same
[batch, seq] ids cut from real text, and their logits are compared. Usage:
    python benchmarks/forward_speed.py [--batch 4] [--seq 128] [--warmup 2] [--iters 7]
Prints the figures and writes benchmarks/results/forward_speed.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from machine import cpu_model


def _interleaved_times(fns: list, warmup: int, iters: int) -> list[list[float]]:
    """Times each fn once per round, alternating, so both see the same machine load (shared cores)."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(iters):
        for fn, times in zip(fns, out):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=7)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "forward_speed.json")
    )
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch
    import transformers
    from flax import nnx

    from zett import assets
    from zett.checkpoint import read_gguf
    from zett.models import hf_io, registry

    ck = read_gguf(assets.smollm2_gguf())
    # the same ids for both: English Bible text, cut into rows of `seq` tokens
    with sqlite3.connect(assets.bible_db()) as db:
        text = " ".join(
            r[0] for r in db.execute("SELECT vText FROM bible WHERE bbName='2' LIMIT 400")
        )
    stream = ck.tokenizer.encode(text).ids
    need = args.batch * args.seq
    if len(stream) < need:
        raise SystemExit(f"only {len(stream)} tokens of text; need {need}")
    ids = np.asarray(stream[:need], np.int32).reshape(args.batch, args.seq)

    model = hf_io.model_from_tensors(
        registry.config_from_hf(ck.hf_config), ck.tensors, "SmolLM2 GGUF"
    )
    forward = nnx.jit(lambda m, x: m(x).logits)
    x_jax = jnp.asarray(ids)
    t = time.perf_counter()
    ours = np.asarray(forward(model, x_jax).block_until_ready())
    compile_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        ck.save_pretrained(tmp)
        ref = transformers.AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32).eval()
    x_torch = torch.as_tensor(ids, dtype=torch.long)

    def torch_forward():
        with torch.inference_mode():
            return ref(x_torch).logits

    theirs = torch_forward().numpy()
    zett_times, torch_times = _interleaved_times(
        [lambda: forward(model, x_jax).block_until_ready(), torch_forward], args.warmup, args.iters
    )

    tokens = args.batch * args.seq
    zett_tps = tokens / statistics.median(zett_times)
    torch_tps = tokens / statistics.median(torch_times)
    result = {
        "model": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised to fp32)",
        "batch": args.batch,
        "seq": args.seq,
        "warmup": args.warmup,
        "iters": args.iters,
        "zett_jit_fp32": {
            "median_s": statistics.median(zett_times),
            "tokens_per_s": zett_tps,
            "times_s": zett_times,
            "compile_and_first_call_s": compile_s,
        },
        "transformers_torch_fp32": {
            "median_s": statistics.median(torch_times),
            "tokens_per_s": torch_tps,
            "times_s": torch_times,
            "torch_threads": torch.get_num_threads(),
        },
        "ratio_zett_over_torch": zett_tps / torch_tps,
        "ratio_per_round_median": statistics.median(b / a for a, b in zip(zett_times, torch_times)),
        "max_abs_logit_diff": float(np.abs(ours - theirs).max()),
        "machine": {
            "platform": platform.platform(),
            "cpu_model": cpu_model(),
            "cpus": os.cpu_count(),
            "loadavg_at_end": os.getloadavg(),
            "jax": jax.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
    }
    print(
        f"forward, batch {args.batch} x {args.seq} tokens, median of {args.iters} interleaved "
        f"rounds after {args.warmup} warm-up:"
    )
    print(
        f"  zett (jit, fp32)          {zett_tps:10.1f} tokens/s  "
        f"({statistics.median(zett_times) * 1e3:.0f} ms)"
    )
    print(
        f"  transformers torch (fp32) {torch_tps:10.1f} tokens/s  "
        f"({statistics.median(torch_times) * 1e3:.0f} ms)"
    )
    print(
        f"  ratio zett/torch          {zett_tps / torch_tps:10.2f}  (median per-round ratio "
        f"{result['ratio_per_round_median']:.2f})"
    )
    print(f"  max |logit diff|          {result['max_abs_logit_diff']:.2e}")
    print(f"  load average at the end   {os.getloadavg()}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=2))
    os.replace(tmp_out, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
