"""Wall time and peak memory of the donor transplants on real vocabularies: SmolLM2 moved onto
Gemma-3's 262,144-token tokenizer with Gemma-3-270m as donor, and Gemma-3-270m moved onto SmolLM2's
tokenizer with SmolLM2 as donor.

Per direction: OMP with the given settings (default: zett's defaults, k = 64), CLP and FVT on the
same inputs (the reference for ratios), and on a random sample of the new tokens exact OMP
(refresh 1), whose time per token extrapolates exact OMP's cost and whose donor-space residual the
default run is compared with. Times are wall and process CPU seconds (all threads; on a shared
machine the CPU time is the steadier figure). Peak memory: the largest resident set sampled (every 0.1 s) while a
method runs, and the resident set before it (the loaded tables). Writes
benchmarks/results/omp_speed.json."""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

RESULT = Path(__file__).parent / "results" / "omp_speed.json"
DIRECTIONS = {
    "smollm2-to-gemma3": ("smollm2", "gemma3"),
    "gemma3-to-smollm2": ("gemma3", "smollm2"),
}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measured(fn):
    """(result, seconds, CPU seconds of this process (all threads), peak RSS during the call, RSS
    before it)."""
    before, peak, done = rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        out = fn()
    finally:
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        done.set()
        thread.join()
    return out, seconds, cpu, max(peak[0], rss_bytes()), before


def run(base: str, donor_name: str, args) -> dict:
    from zett.heuristics.base import SourceEmbeddings
    from zett.heuristics.clp import clp_init
    from zett.heuristics.donor import load_donor
    from zett.heuristics.fvt import fvt_init
    from zett.heuristics.omp import anchors, omp_codes, omp_init

    b = load_donor(base)  # the base model's vocabulary and tables, read like a donor's
    source = SourceEmbeddings(b.vocab, b.input_embeddings, b.output_embeddings)
    donor = load_donor(donor_name)
    target = donor.vocab
    t_ids, _ = anchors(source, target)
    rec: dict = {
        "base": base,
        "donor": donor_name,
        "n_target": target.size,
        "n_shared": int(t_ids.size),
        "base_table": list(source.input_embeddings.shape),
        "donor_table": list(donor.input_embeddings.shape),
    }
    opts = dict(k=args.k, refresh=args.refresh, pool=args.pool, block=args.block)
    out, sec, cpu, peak, before = measured(lambda: omp_init(source, target, donor=donor, **opts))
    new = np.flatnonzero(~out.copied)
    rec["omp"] = {
        **opts,
        "seconds": sec,
        "cpu_seconds": cpu,
        "peak_rss_gb": peak / 2**30,
        "rss_before_gb": before / 2**30,
        "n_new": int(new.size),
        "ms_per_new_token": 1000 * sec / max(new.size, 1),
        "residual_input": out.info["residual_input"],
    }
    print(json.dumps({base: rec["omp"]}), flush=True)
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        np.save(Path(args.save) / f"omp_{base}_to_{donor_name}.npy", out.input_embeddings)
    omp_rows = out.input_embeddings
    del out
    for name, fn in (
        ("clp", lambda: clp_init(source, target, donor=donor)),
        ("fvt", lambda: fvt_init(source, target)),
    ):
        _, sec, cpu, peak, before = measured(fn)
        rec[name] = {
            "seconds": sec,
            "cpu_seconds": cpu,
            "peak_rss_gb": peak / 2**30,
            "rss_before_gb": before / 2**30,
        }
        print(json.dumps({f"{base} {name}": rec[name]}), flush=True)

    sample = np.sort(np.random.default_rng(0).choice(new, min(args.sample, new.size), False))
    atoms = donor.input_embeddings[t_ids]
    runs = {}
    for label, kw in (
        ("exact", dict(refresh=1, pool=8)),
        ("default", dict(refresh=args.refresh, pool=args.pool)),
    ):
        t0 = time.process_time()
        parts = list(
            omp_codes(donor.input_embeddings, atoms, args.k, rows=sample, block=args.block, **kw)
        )
        runs[label] = (time.process_time() - t0, np.concatenate([p[2] for p in parts]))
    rec["sample"] = {
        "n": int(sample.size),
        "exact_cpu_ms_per_token": 1000 * runs["exact"][0] / sample.size,
        "default_cpu_ms_per_token": 1000 * runs["default"][0] / sample.size,
        "exact_residual": float(runs["exact"][1].mean()),
        "default_residual": float(runs["default"][1].mean()),
        "exact_extrapolated_cpu_minutes": runs["exact"][0] / sample.size * new.size / 60,
    }
    assert np.isfinite(omp_rows).all()
    print(json.dumps({f"{base} sample": rec["sample"]}), flush=True)
    return rec


def main() -> None:
    from zett.heuristics.omp import DEFAULT_K, DEFAULT_POOL, DEFAULT_REFRESH

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--direction", choices=[*DIRECTIONS, "both"], default="both")
    ap.add_argument("--k", type=int, default=DEFAULT_K)
    ap.add_argument("--refresh", type=int, default=DEFAULT_REFRESH)
    ap.add_argument("--pool", type=int, default=DEFAULT_POOL)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--sample", type=int, default=256, help="new tokens for exact OMP")
    ap.add_argument("--save", help="directory to save each OMP input table to (.npy)")
    args = ap.parse_args()
    names = list(DIRECTIONS) if args.direction == "both" else [args.direction]
    res = {
        "load_before": os.getloadavg(),
        "cpus": os.cpu_count(),
        "note": "shared 2-core machine; times depend on the other jobs (see load averages)",
    }
    for name in names:
        res[name] = run(*DIRECTIONS[name], args)
    res["load_after"] = os.getloadavg()
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=2) + "\n")
    tmp.replace(RESULT)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
