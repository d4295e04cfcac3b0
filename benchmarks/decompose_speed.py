"""Speed of decomposition: Gemma 3's 262,144-token vocabulary under SmolLM2's 49,152-token BPE (and the
reverse).

Prints the figures and writes benchmarks/results/decompose_speed.json. The reference in the same run
is the per-token Python loop (one `encode` call per token) that batch encoding replaces, timed on a
sample. Run: python benchmarks/decompose_speed.py [--repeats 3] [--loop-sample 20000]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from machine import cpu_model

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


def _timed(fn, repeats: int):
    """(result, wall seconds per repeat, CPU seconds per repeat incl. tokenizers' threads): on a shared
    machine the CPU time is the steadier figure."""
    times, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return out, times, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--loop-sample", type=int, default=20000)
    ap.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "decompose_speed.json")
    )
    args = ap.parse_args()

    from zett import assets
    from zett.tokenization import Decomposer, canonicalize, load_tokenizer

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result: dict = {
        "machine": {
            "cpu_model": cpu_model(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_1min": load,
        },
        "runs": [],
    }
    t = time.perf_counter()
    tok = {
        "smollm2": load_tokenizer(assets.smollm2_gguf()),
        "gemma3": load_tokenizer(assets.gemma3_gguf()),
    }
    canon = {k: canonicalize(v) for k, v in tok.items()}
    result["load_and_canonicalize_s"] = time.perf_counter() - t

    for source, target in (("smollm2", "gemma3"), ("gemma3", "smollm2")):
        t = time.perf_counter()
        dec = Decomposer(tok[source])
        build = time.perf_counter() - t
        tv = canon[target]
        sf, times, cpu = _timed(lambda dec=dec, tv=tv: dec.decompose_vocab(tv), args.repeats)
        # reference: one encode call per token on a sample (what a per-token loop costs),
        # extrapolated
        regular = [t for t in tv.tokens if t]
        sample = regular[
            :: max(1, len(regular) // args.loop_sample)
        ]  # spread over the vocabulary: ids sort by length
        _, loop_t, loop_c = _timed(
            lambda dec=dec, sample=sample: [
                dec._tokenizer.encode(s, add_special_tokens=False).ids for s in sample
            ],
            1,
        )
        loop_full = loop_t[0] / len(sample) * tv.size
        loop_cpu = loop_c[0] / len(sample) * tv.size
        med = statistics.median(times)
        run = {
            "source": source,
            "target": target,
            "source_vocab": dec.source_vocab_size,
            "target_vocab": tv.size,
            "maxlen": dec.maxlen,
            "build_s": build,
            "decompose_s": times,
            "decompose_median_s": med,
            "tokens_per_s": tv.size / med,
            "n_truncated": sf.n_truncated,
            "truncated_fraction": sf.n_truncated / tv.size,
            "n_unmatched_specials": sf.n_unmatched_specials,
            "mean_length": float(sf.lengths.mean()),
            "fallback_pieces": int((sf.ids[sf.mask] >= dec.source_vocab_size).sum()),
            "decompose_cpu_s": cpu,
            "decompose_cpu_median_s": statistics.median(cpu),
            "reference_per_token_loop_s_extrapolated": loop_full,
            "speedup_vs_loop": loop_full / med,
            "reference_per_token_loop_cpu_s_extrapolated": loop_cpu,
        }
        result["runs"].append(run)
        print(
            f"{target} ({tv.size:,}) under {source} ({dec.source_vocab_size:,}): build "
            f"{build:.2f}s, "
            f"decompose median {med:.2f}s ({tv.size / med:,.0f} tokens/s; per-token loop ≈ "
            f"{loop_full:.1f}s, "
            f"×{loop_full / med:.1f}); CPU {statistics.median(cpu):.2f}s (loop ≈ {loop_cpu:.1f}s); "
            f"truncated {sf.n_truncated:,} ({run['truncated_fraction']:.1%}) at maxlen "
            f"{dec.maxlen}; mean length {run['mean_length']:.2f}; unmatched specials "
            f"{sf.n_unmatched_specials}"
        )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
