"""Tokens/s of a full-parameter fine-tuning step: `zett finetune`'s step (jit, fp32) vs transformers
+ PyTorch doing the same update, on SmolLM2-135M-Instruct (the packaged GGUF converted to HF).

Same checkpoint, the same [batch, seq] ids of real English text, the same threads, the same update:
causal-LM cross-entropy, global-norm clip 1.0, AdamW (β 0.9/0.95, eps 1e-8, no weight decay) over
every parameter. Each framework runs in its own process and they take turns (zett, torch, zett,
...), so both see the same machine load and neither finds the other's idle thread pool spinning.
A turn is `--burst` consecutive steps, timed after its first: on the 2-core VM a zett step that
started right after torch's turn took ≈ 1 s longer than one right after another zett step (3.4 vs
2.3 s; thread pools waking), and a fine-tuning run is steps back to back. The first-step losses are
compared as a check that both compute the same thing. Variants of the zett
step (`--variants`): the loss chunk (positions per chunk of the fused output-layer cross-entropy;
0 = full logits; `default` = `zett finetune`'s default, sized by memory).

Memory allocator: the zett process runs under the glibc malloc settings the `zett` command gives
itself (`zett.cli.allocator`; `--zett-malloc default` for glibc's own), the torch worker under glibc's
defaults unless `--torch-malloc zett` gives it the same settings. Usage:
    python benchmarks/finetune_speed.py [--batch 4] [--seq 128] [--iters 5] [--variants default,256]
        [--cores 0] [--zett-malloc zett|default] [--torch-malloc default|zett]
Prints the figures and writes benchmarks/results/finetune_speed.json."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from machine import cpu_model


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


@contextlib.contextmanager
def worker_env(name: str, value: str | None):
    """os.environ[name] = value (None: unset) inside the block, restored after."""
    old = os.environ.pop(name, None)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)
        if old is not None:
            os.environ[name] = old


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
    while (msg := conn.recv()) != "stop":
        if msg == "step":
            t = time.perf_counter()
            loss = step()
            conn.send((time.perf_counter() - t, loss))
        else:  # ("matmul", m, k, n)
            a, b = torch.randn(msg[1], msg[2]), torch.randn(msg[2], msg[3])
            conn.send(matmul_rate(lambda a=a, b=b: a @ b, *msg[1:]))


def matmul_rate(matmul, m: int, k: int, n: int, seconds: float = 2.0) -> float:
    """GFLOP/s of `matmul()` ([m, k] @ [k, n], fp32, returns something to block on), best of 5
    batches run for about `seconds` in all."""
    for _ in range(3):
        _block(matmul())
    best = float("inf")
    t = time.perf_counter()
    _block(matmul())
    reps = max(1, int(seconds / 5 / max(time.perf_counter() - t, 1e-6)))
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            out = matmul()
        _block(out)
        best = min(best, (time.perf_counter() - t) / reps)
    return 2 * m * k * n / best / 1e9


def _block(x):
    return x.block_until_ready() if hasattr(x, "block_until_ready") else x


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
    parser.add_argument(
        "--burst",
        type=int,
        default=3,
        help="consecutive steps per turn; the first of each turn is not timed (a thread pool that "
        "sat idle while the other framework ran starts slower), the rest are averaged",
    )
    parser.add_argument("--zett-malloc", choices=("zett", "default"), default="zett")
    parser.add_argument("--torch-malloc", choices=("zett", "default"), default="default")
    args = parser.parse_args()
    if args.zett_malloc == "zett":
        from zett.cli.allocator import reexec_with_tunables

        reexec_with_tunables()
    zett_tunables = os.environ.get("GLIBC_TUNABLES")
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
        from zett.cli.allocator import TUNABLES

        torch_tunables = TUNABLES if args.torch_malloc == "zett" else None
        with worker_env("GLIBC_TUNABLES", torch_tunables):  # a spawned worker inherits os.environ
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
                burst = [timed(i)[0] for _ in range(args.burst)]
                ts.append(statistics.mean(burst[1:]) if len(burst) > 1 else burst[0])
        # the step's MLP matmul (tokens × SmolLM2's width 576 × MLP width 1536), each framework alone
        shape = (args.batch * args.seq, 576, 1536)
        conn.send(("matmul", *shape))
        torch_matmul = conn.recv()
        import jax.numpy as jnp

        a = jnp.ones(shape[:2], jnp.float32)
        b = jnp.ones(shape[1:], jnp.float32)
        matmul = jax.jit(jnp.matmul)
        zett_matmul = matmul_rate(lambda: matmul(a, b), *shape)
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
        "burst": args.burst,
        "steps": rows,
        "matmul_gflop_per_s": {
            "shape_m_k_n": list(shape),
            "xla": zett_matmul,
            "torch": torch_matmul,
        },
        "ratio_zett_over_torch": rows[best]["ratio_over_torch"],
        "best_zett_variant": best,
        "threads": {
            "torch": torch_threads,
            "xla_cpu_cores": threads,
            "pinned_to": args.cores or "all",
        },
        "processes": "zett in the main process, torch in a spawned worker; turns of `burst` steps "
        "alternate, each turn's first step untimed",
        "glibc_tunables": {"zett": zett_tunables, "torch": torch_tunables},
        "machine": {
            "platform": platform.platform(),
            "cpu_model": cpu_model(),
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
        f"interleaved rounds (each the mean of a turn's last {max(args.burst - 1, 1)} steps):"
    )
    for name in names:
        r = rows[name]
        extra = f"  ratio {r['ratio_over_torch']:.2f}" if name != "torch" else ""
        print(
            f"  {name:16s} {r['tokens_per_s']:8.1f} tokens/s ({r['median_s']:.2f} s/step, first "
            f"loss {r['first_loss']:.4f}){extra}"
        )
    print(
        f"  {shape[0]}x{shape[1]}x{shape[2]} matmul alone: XLA {zett_matmul:.0f} GFLOP/s, torch "
        f"{torch_matmul:.0f} GFLOP/s on {cpu_model()}"
    )
    print(f"  load average {load_start} → {os.getloadavg()}")
    print(f"  glibc tunables: zett {zett_tunables}, torch {torch_tunables}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=2))
    os.replace(tmp_out, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
