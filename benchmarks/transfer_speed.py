"""Wall time of `zett transfer --hypernet` of SmolLM2 onto a large vocabulary, end to end, with the
hypernet computing the surface forms padded (the code before: `--method-opt pack_width=0`) and packed
(the default), in one run; and how far the two outputs differ.

    python benchmarks/transfer_speed.py [--tokenizer qwen2] [--hypernet experiments/smollm2/hypernet]
        [--variants padded,packed]

Each variant is a fresh `zett transfer` process (imports, model and tokenizer loading, compilation,
prediction, writing the checkpoint: what a user waits for). Its stderr log lines are time-stamped, so
the JSON also splits the wall time into start-up (to the "source …" line), loading (to "computing
…"), and prediction + writing (to the end). The packed output is compared with the padded one tensor
by tensor (max absolute difference and its size relative to the rows' scale): they differ by float
reassociation only. The machine may be shared: the load average is recorded around every run, and
each run's CPU seconds (all threads; on a loaded machine they track the work better than wall time);
compare variants within one run. Writes benchmarks/results/transfer_speed.json."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = {"padded": ["--method-opt", "pack_width=0"], "packed": []}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(variant: str, args, out: Path) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "zett.cli.main",
        "transfer",
        "--model",
        args.model,
        "--tokenizer",
        args.tokenizer,
        "--hypernet",
        args.hypernet,
        "--out",
        str(out),
        *OPTIONS[variant],
    ]
    load0, t0 = load(), time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    marks: dict[str, float] = {}
    tail = []
    for line in proc.stderr:  # type: ignore[union-attr]
        tail = (tail + [line])[-20:]
        for key in ("source", "computing", "wrote"):
            if line.startswith(f"zett transfer: {key}") and key not in marks:
                marks[key] = time.perf_counter() - t0
    if proc.wait() != 0:
        raise SystemExit(f"{variant}: zett transfer failed:\n{''.join(tail)}")
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "variant": variant,
        "command": " ".join(cmd[2:]),
        "wall_s": wall,
        "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "startup_s": marks.get("source"),
        "to_computing_s": marks.get("computing"),
        "predict_and_write_s": wall - marks.get("computing", 0.0),
        "load_average_before_after": [load0, load()],
    }


def compare(a: Path, b: Path) -> dict:
    from safetensors.numpy import load_file

    def tensors(d: Path) -> dict[str, np.ndarray]:
        out = {}
        for f in sorted(d.glob("*.safetensors")):
            out |= load_file(str(f))
        return out

    ta, tb = tensors(a), tensors(b)
    if ta.keys() != tb.keys():
        raise SystemExit(f"outputs hold different tensors: {sorted(ta.keys() ^ tb.keys())}")
    diffs = {}
    for name in ta:
        x, y = ta[name].astype(np.float64), tb[name].astype(np.float64)
        if x.shape != y.shape:
            raise SystemExit(f"{name}: shapes {x.shape} vs {y.shape}")
        if np.array_equal(x, y):
            continue
        d = np.abs(x - y)
        diffs[name] = {
            "max_abs_diff": float(d.max()),
            "max_abs_diff_over_max_abs": float(d.max() / np.abs(x).max()),
            "rows_differing": int((d.reshape(d.shape[0], -1).max(1) > 0).sum()),
            "rows": int(x.shape[0]),
        }
    return {"identical_tensors": sorted(set(ta) - set(diffs)), "differing": diffs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--tokenizer", default="qwen2")
    ap.add_argument("--hypernet", default=str(ROOT / "experiments/smollm2/hypernet"))
    ap.add_argument("--variants", default="padded,packed")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/transfer_speed.json"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zett-transfer-speed-"))
    try:
        runs = []
        for v in args.variants.split(","):
            r = run(v, args, tmp / v)
            print(json.dumps(r), flush=True)
            runs.append(r)
        provenance = json.loads((tmp / runs[-1]["variant"] / "zett_provenance.json").read_text())
        result = {
            "benchmark": "transfer_speed",
            "machine": describe() + " (shared; see load averages)",
            "target_vocab_size": provenance["target_vocab_size"],
            "runs": runs,
        }
        if {"padded", "packed"} <= {r["variant"] for r in runs}:
            result["packed_vs_padded"] = compare(tmp / "padded", tmp / "packed")
            t = {r["variant"]: r["wall_s"] for r in runs}
            result["speedup_wall"] = t["padded"] / t["packed"]
            c = {r["variant"]: r.get("cpu_s") for r in runs}
            if c["packed"]:
                result["speedup_cpu"] = c["padded"] / c["packed"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
