"""Wall time and peak memory of the donor transplants on real vocabularies: SmolLM2 moved onto
Gemma-3's 262,144-token tokenizer with Gemma-3-270m as donor, and Gemma-3-270m moved onto SmolLM2's
tokenizer with SmolLM2 as donor.

Per direction: OMP with the given settings (default: zett's defaults, k = 64), CLP and FVT on the
same inputs (the reference for ratios), and on a random sample of the new tokens exact OMP
(refresh 1), whose time per token extrapolates exact OMP's cost and whose donor-space residual the
default run is compared with. Times are wall and process CPU seconds (all threads; on a shared
machine the CPU time is the steadier figure). With --new N a target with more new tokens is cut to
its shared tokens plus N random new ones (same anchors, so costs scale with the new tokens). Peak
memory: the largest resident set sampled (every 0.1 s) while a method runs, and the resident set
before it (the loaded tables). Writes benchmarks/results/omp_speed.json."""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
from machine import cpu_model

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


def sub_vocabulary(target, donor, shared: np.ndarray, new: np.ndarray):
    """The target vocabulary cut to its shared tokens plus `new` (regular ids), and the donor's
    rows for it: every method then runs end to end on the same anchors with fewer new tokens."""
    from zett.heuristics.donor import Donor
    from zett.tokenization import CanonicalVocab

    keep = np.sort(np.concatenate([shared, new]))
    vocab = CanonicalVocab.from_tokens([target.tokens[i] for i in keep.tolist()])
    out = donor.output_embeddings
    return vocab, Donor(vocab, donor.input_embeddings[keep], None if out is None else out[keep])


def run(base: str, donor_name: str, args) -> dict:
    from zett.heuristics.base import SourceEmbeddings, copy_plan
    from zett.heuristics.clp import clp_init
    from zett.heuristics.donor import load_donor
    from zett.heuristics.fvt import fvt_init
    from zett.heuristics.omp import anchors, omp_codes, omp_init

    b = load_donor(base)  # the base model's vocabulary and tables, read like a donor's
    source = SourceEmbeddings(b.vocab, b.input_embeddings, b.output_embeddings)
    donor = load_donor(donor_name)
    target = donor.vocab
    t_ids, _ = anchors(source, target)
    regular_new = np.setdiff1d(np.asarray(target.regular_ids), t_ids)
    n_new_full = target.size - np.unique(copy_plan(source, target)[0]).size
    rec: dict = {
        "base": base,
        "donor": donor_name,
        "n_target": target.size,
        "n_shared": int(t_ids.size),
        "base_table": list(source.input_embeddings.shape),
        "donor_table": list(donor.input_embeddings.shape),
    }
    rng = np.random.default_rng(0)
    if args.new is not None and regular_new.size > args.new:
        sample = np.sort(rng.choice(regular_new, args.new, replace=False))
        target, donor = sub_vocabulary(target, donor, t_ids, sample)
        rec["sub_vocabulary"] = (
            f"the {t_ids.size} shared + {args.new} random new tokens (of {n_new_full} new in "
            f"the full vocabulary); full_vocabulary_* scale the costs by the new tokens"
        )
    opts = dict(k=args.k, refresh=args.refresh, pool=args.pool, block=args.block)
    out, sec, cpu, peak, before = measured(lambda: omp_init(source, target, donor=donor, **opts))
    new = np.flatnonzero(~out.copied)
    scale = n_new_full / new.size
    rec["omp"] = {
        **opts,
        "n_new": int(new.size),
        "seconds": sec,
        "cpu_seconds": cpu,
        "peak_rss_gb": peak / 2**30,
        "rss_before_gb": before / 2**30,
        "cpu_ms_per_new_token": 1000 * cpu / max(new.size, 1),
        "full_vocabulary_cpu_minutes": cpu * scale / 60,
        "residual_input": out.info["residual_input"],
    }
    print(json.dumps({base: rec["omp"]}), flush=True)
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        np.save(Path(args.save) / f"omp_{base}_to_{donor_name}.npy", out.input_embeddings)
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
            "full_vocabulary_cpu_minutes": cpu * scale / 60,
        }
        print(json.dumps({f"{base} {name}": rec[name]}), flush=True)

    t_ids, _ = anchors(source, target)
    sample = np.sort(rng.choice(new, min(args.sample, new.size), replace=False))
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
        "exact_full_vocabulary_cpu_minutes": runs["exact"][0] / sample.size * n_new_full / 60,
    }
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
    ap.add_argument(
        "--new",
        type=int,
        help="run on the shared tokens + this many random new ones where the target has more "
        "(costs are extrapolated to the full vocabulary)",
    )
    args = ap.parse_args()
    names = list(DIRECTIONS) if args.direction == "both" else [args.direction]
    res = {
        "load_before": os.getloadavg(),
        "cpu_model": cpu_model(),
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
