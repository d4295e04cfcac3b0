"""Checkpoint I/O and encoder forward speed: zett vs transformers on the real models of this machine.

Each load/convert runs in a fresh process so its wall time and peak RSS are its own:
  - SmolLM2-135M GGUF → zett model; zett convert (GGUF → HF directory); zett and transformers loading
    that HF directory (the transformers figure is the reference for the ratio);
  - all-MiniLM-L6-v2 (BertModel) loading in zett and in transformers;
  - MiniLM forward tokens/s on real Bible verses, zett (jit, fp32) vs transformers (PyTorch fp32),
    with the largest hidden-state difference.
Usage: python benchmarks/checkpoint_io.py [--batch 16] [--seq 128] [--iters 5]
Prints the figures and writes benchmarks/results/checkpoint_io.json."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from machine import cpu_model


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase(name: str, arg: str, queue) -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import jax  # noqa: F401  (import cost is not the phase's)
    import transformers  # noqa: F401

    base = _peak_mb()
    t = time.perf_counter()
    if name == "zett_load_gguf" or name == "zett_load_hf" or name == "zett_load_minilm":
        from zett.models import load_pretrained

        model = load_pretrained(arg)
        jax.block_until_ready(model.get_input_embeddings())
    elif name == "zett_convert":
        from zett.cli.main import main

        assert main(["convert", *arg.split("|"), "--overwrite"]) == 0
    elif name == "transformers_load_hf":
        transformers.AutoModelForCausalLM.from_pretrained(arg)
    elif name == "transformers_load_minilm":
        transformers.AutoModel.from_pretrained(arg)
    queue.put(
        {"seconds": time.perf_counter() - t, "peak_rss_mb": _peak_mb(), "rss_before_mb": base}
    )


def run_phase(name: str, arg: str) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_phase, args=(name, arg, queue))
    p.start()
    out = queue.get()
    p.join()
    print(f"{name:26s} {out['seconds']:7.2f} s   peak RSS {out['peak_rss_mb']:7.0f} MB")
    return out


def verses(n: int) -> list[str]:
    from zett import assets

    with sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT vText FROM bible WHERE bbName = 'k' AND length(vText) > 200 LIMIT ?", (n,)
        )
        return [r[0] for r in rows]


def encoder_forward(batch: int, seq: int, iters: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch
    import transformers
    from flax import nnx

    from zett import assets
    from zett.models import load_pretrained

    path = assets.minilm_dir()
    tok = transformers.AutoTokenizer.from_pretrained(str(path))
    texts = verses(batch)
    enc = tok(texts, padding="max_length", truncation=True, max_length=seq, return_tensors="np")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    model = load_pretrained(path)
    graphdef, state = nnx.split(model)

    @jax.jit
    def fwd(state, ids, mask):
        m = nnx.merge(graphdef, state)
        return m.encode(m.embed(ids), mask)[0]

    hf = transformers.AutoModel.from_pretrained(str(path), attn_implementation="eager").eval()
    torch.set_num_threads(os.cpu_count() or 1)

    def zett_call():
        return fwd(state, jnp.asarray(ids), jnp.asarray(mask)).block_until_ready()

    def torch_call():
        with torch.no_grad():
            return hf(
                input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)
            ).last_hidden_state

    ours, ref = np.asarray(zett_call()), torch_call().numpy()
    times = {}
    for name, fn in (("zett", zett_call), ("transformers", torch_call)):
        fn()
        ts = []
        for _ in range(iters):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        times[name] = statistics.median(ts)
    tokens = int(mask.sum())
    out = {
        "batch": batch,
        "seq": seq,
        "real_tokens": tokens,
        "zett_tokens_per_s": tokens / times["zett"],
        "transformers_tokens_per_s": tokens / times["transformers"],
        "max_abs_diff_hidden": float(np.abs(ours - ref)[mask.astype(bool)].max()),
    }
    out["ratio_zett_over_transformers"] = (
        out["zett_tokens_per_s"] / out["transformers_tokens_per_s"]
    )
    print(
        f"MiniLM forward {batch}x{seq}: zett {out['zett_tokens_per_s']:.0f} tok/s, transformers "
        f"{out['transformers_tokens_per_s']:.0f} tok/s (ratio "
        f"{out['ratio_zett_over_transformers']:.2f}), "
        f"max |diff| {out['max_abs_diff_hidden']:.2e}"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "checkpoint_io.json")
    )
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from zett import assets

    results: dict = {
        "machine": {
            "cpu_model": cpu_model(),
            "cpus": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = str(Path(tmp) / "smollm2")
        gguf = str(assets.smollm2_gguf())
        results["smollm2_gguf_mb"] = os.path.getsize(gguf) / 2**20
        for name, arg in (
            ("zett_load_gguf", gguf),
            ("zett_convert", f"{gguf}|{hf_dir}"),
            ("zett_load_hf", hf_dir),
            ("transformers_load_hf", hf_dir),
            ("zett_load_minilm", str(assets.minilm_dir())),
            ("transformers_load_minilm", str(assets.minilm_dir())),
        ):
            results[name] = run_phase(name, arg)
    results["load_hf_ratio_zett_over_transformers_seconds"] = (
        results["zett_load_hf"]["seconds"] / results["transformers_load_hf"]["seconds"]
    )
    results["encoder_forward"] = encoder_forward(args.batch, args.seq, args.iters)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
