"""Tokens/s of a full-parameter fine-tuning step: `zett finetune`'s step (jit, fp32) vs transformers
+ PyTorch doing the same update, on SmolLM2-135M-Instruct (the packaged GGUF converted to HF).

Same checkpoint, the same [batch, seq] ids of real English text, the same threads, the same update:
causal-LM cross-entropy, global-norm clip 1.0, AdamW (β 0.9/0.95, eps 1e-8, no weight decay) over
every parameter. Each framework runs in its own process and the steps alternate (zett, torch, zett,
...), so both see the same machine load and neither finds the other's idle thread pool spinning;
the first-step losses are compared as a check that both compute the same thing. Variants of the zett
step (`--variants`): the loss chunk (positions per chunk of the fused output-layer cross-entropy;
0 = full logits; `default` = `zett finetune`'s default, sized by memory). Usage:
    python benchmarks/finetune_speed.py [--batch 4] [--seq 128] [--iters 5] [--variants default,256]
        [--cores 0]
Prints the figures and writes benchmarks/results/finetune_speed.json."""

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


def text_ids(tokenizer, batch: int, seq: int):
    import numpy as np

    from zett import assets

    with sqlite3.connect(assets.bible_db()) as db:
        text = " ".join(
            r[0] for r in db.execute("SELECT vText FROM bible WHERE bbName='2' LIMIT 2000")
        )
    stream = tokenizer.encode(text, add_special_tokens=False).ids
    need = batch * seq
    if len(stream) < need:
        raise SystemExit(f"only {len(stream)} tokens of text; need {need}")
    return np.asarray(stream[:need], np.int32).reshape(batch, seq)


def lm_batch(ids):
    """`ids` [batch, seq] as a causal-LM batch on the device: every position attended and labelled."""
    import jax
    import numpy as np

    from zett.finetune.batches import LMBatch

    return LMBatch(
        *(jax.device_put(x) for x in (ids, np.ones_like(ids), ids, np.ones(ids.shape[0], np.int32)))
    )


def zett_step(hf_dir: Path, ids, chunk: int | None):
    """A closure making one zett full-parameter update on `ids`; returns the loss."""
    from flax import nnx

    from zett.finetune.config import FullPhase, OptimConfig
    from zett.finetune.optim import phase_optimizer
    from zett.finetune.step import make_train_step
    from zett.models import load_pretrained
    from zett.training import StepInput, TrainState

    model = load_pretrained(hf_dir)
    phase = FullPhase(steps=1000, lr=1e-5, warmup_steps=0, final_lr_fraction=1.0)
    optimizer = nnx.Optimizer(model, phase_optimizer(phase, OptimConfig()), wrt=nnx.Param)
    step = make_train_step(nnx.Param, causal=True, chunk=chunk)
    state = TrainState(model, optimizer)
    item = StepInput(lm_batch(ids), "full", tokens=ids.size)
    return lambda: float(step(state, item)["loss"])


def torch_step(hf_dir: Path, ids):
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(
        model.parameters(), lr=1e-5, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0
    )
    x = torch.as_tensor(ids, dtype=torch.long)

    def step() -> float:
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    return step


def pin(cores: set[int] | None) -> None:
    """Restricts this process (and the thread pools it starts later) to `cores`."""
    if cores:
        os.sched_setaffinity(0, cores)


def torch_worker(conn, hf_dir: str, ids, threads: int, cores: set[int] | None) -> None:
    """PyTorch in its own process: a framework sharing a process with the other finds the other's
    idle thread pool spinning on the cores (torch's OpenMP, XLA's Eigen), which slows it several
    times over; apart, each waits on the pipe while the other runs."""
    pin(cores)
    import torch

    torch.set_num_threads(threads)
    step = torch_step(Path(hf_dir), ids)
    conn.send(("ready", torch.get_num_threads()))
    while conn.recv() == "step":
        t = time.perf_counter()
        loss = step()
        conn.send((time.perf_counter() - t, loss))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument(
        "--variants",
        default="default",
        help="zett loss chunks to time, `default` = finetune's (each holds a model in memory)",
    )
    parser.add_argument(
        "--cores",
        default="",
        help="pin both processes to these cores, e.g. 0 (default: every core); threads = cores",
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "finetune_speed.json")
    )
    args = parser.parse_args()
    cores = {int(c) for c in args.cores.split(",") if c != ""} or None
    pin(cores)  # before jax starts its thread pool

    import multiprocessing as mp
    from importlib.metadata import version

    import jax

    from zett import assets
    from zett.models import load_pretrained, save_pretrained
    from zett.tokenization import load_tokenizer

    threads = len(os.sched_getaffinity(0))  # XLA's CPU client uses every core it may run on
    load_start = os.getloadavg()
    chunks = [None if c == "default" else int(c) for c in args.variants.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = Path(tmp) / "smollm2-hf"
        save_pretrained(load_pretrained(assets.smollm2_gguf()), hf_dir)
        ids = text_ids(load_tokenizer("smollm2").tokenizer, args.batch, args.seq)
        conn, child = mp.get_context("spawn").Pipe()
        worker = mp.get_context("spawn").Process(
            target=torch_worker, args=(child, str(hf_dir), ids, threads, cores)
        )
        worker.start()
        _, torch_threads = conn.recv()

        def torch_remote() -> tuple[float, float]:
            conn.send("step")
            return conn.recv()

        names = [f"zett_chunk{'_default' if c is None else c}" for c in chunks] + ["torch"]
        local = [zett_step(hf_dir, ids, c) for c in chunks]

        def timed(i: int) -> tuple[float, float]:
            if i == len(local):
                return torch_remote()
            t = time.perf_counter()
            loss = local[i]()
            return time.perf_counter() - t, loss

        first = [timed(i) for i in range(len(names))]  # compile / warm up
        times: list[list[float]] = [[] for _ in names]
        for _ in range(args.iters):
            for i, ts in enumerate(times):
                ts.append(timed(i)[0])
        conn.send("stop")
        worker.join()
    compile_s = [f[0] for f in first]
    first = [f[1] for f in first]
    tokens = args.batch * args.seq
    rows = {
        name: {
            "median_s": statistics.median(ts),
            "tokens_per_s": tokens / statistics.median(ts),
            "times_s": ts,
            "first_step_s": c,
            "first_loss": loss,
        }
        for name, ts, c, loss in zip(names, times, compile_s, first)
    }
    torch_tps = rows["torch"]["tokens_per_s"]
    for name in names[:-1]:
        rows[name]["ratio_over_torch"] = rows[name]["tokens_per_s"] / torch_tps
        rows[name]["ratio_per_round_median"] = statistics.median(
            b / a for a, b in zip(rows[name]["times_s"], rows["torch"]["times_s"])
        )
    best = max(names[:-1], key=lambda n: rows[n]["tokens_per_s"])
    result = {
        "what": "full-parameter AdamW fine-tuning step, causal LM, fp32",
        "model": "SmolLM2-135M-Instruct (Q4_1 GGUF → HF fp32)",
        "batch": args.batch,
        "seq": args.seq,
        "iters": args.iters,
        "steps": rows,
        "ratio_zett_over_torch": rows[best]["ratio_over_torch"],
        "best_zett_variant": best,
        "threads": {
            "torch": torch_threads,
            "xla_cpu_cores": threads,
            "pinned_to": args.cores or "all",
        },
        "processes": "zett in the main process, torch in a spawned worker; steps alternate",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_at_start": load_start,
            "loadavg_at_end": os.getloadavg(),
            "jax": jax.__version__,
            "torch": version("torch"),
            "transformers": version("transformers"),
        },
    }
    print(
        f"full-parameter step, batch {args.batch} x {args.seq} tokens, median of {args.iters} "
        f"interleaved rounds:"
    )
    for name in names:
        r = rows[name]
        extra = f"  ratio {r['ratio_over_torch']:.2f}" if name != "torch" else ""
        print(
            f"  {name:16s} {r['tokens_per_s']:8.1f} tokens/s ({r['median_s']:.2f} s/step, first "
            f"loss {r['first_loss']:.4f}){extra}"
        )
    print(f"  load average {load_start} → {os.getloadavg()}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=2))
    os.replace(tmp_out, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
