"""Cost of the bench probe (`zett.finetune.probe`, default config) on SmolLM2-135M with FVT tables
for a 16k Unigram vocabulary and for Gemma-3's 262k vocabulary.

Times `--steps` updates and projects the default probe's cost (50 steps): the fixed part (tokenizing,
compiling with the first step) + 49 × the median of the later steps; records the training curve. Usage:
    nice -n 10 python experiments/finetune/probe_cost.py [--steps 10]
Writes experiments/finetune/results/probe_cost.json."""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import asdict, replace
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--texts", type=int, default=400, help="German train texts to draw from")
    parser.add_argument("--corpus", default=str(ROOT / "data" / "corpus"))
    parser.add_argument(
        "--unigram",
        default=str(ROOT / "experiments/bench/results/tokenizers/unigram-de-16000.json"),
    )
    parser.add_argument("--out", default=str(HERE / "results" / "probe_cost.json"))
    args = parser.parse_args()

    import numpy as np

    from zett.data import load_texts
    from zett.finetune.probe import ProbeConfig, probe
    from zett.heuristics import SourceEmbeddings, fvt_init
    from zett.models import load_pretrained
    from zett.tokenization import canonicalize, load_tokenizer

    model = load_pretrained("smollm2")
    source = SourceEmbeddings(
        canonicalize(load_tokenizer("smollm2")), np.asarray(model.get_input_embeddings())
    )
    texts = list(load_texts(args.corpus, "train", ["de"])["text"][: args.texts])
    config = replace(ProbeConfig(), steps=args.steps)
    rows = []
    for name, spec in (("unigram-de-16k", args.unigram), ("gemma3-262k", "gemma3")):
        tok = load_tokenizer(spec)
        t = time.perf_counter()
        tables = fvt_init(source, canonicalize(tok), seed=0)
        init_s = time.perf_counter() - t
        result = probe(model, tok, tables, texts, config, progress=True)
        steady = float(np.median(result.step_seconds[1:]))
        fixed = result.seconds - float(result.step_seconds[1:].sum())  # setup + compiling step
        rows.append(
            {
                "tokenizer": name,
                "vocab": int(tables.input_embeddings.shape[0]),
                "fvt_tables_s": init_s,
                "probe_s": result.seconds,
                "steps": args.steps,
                "step_seconds": result.step_seconds.tolist(),
                "steady_step_s": steady,
                "fixed_s": fixed,
                "projected_default_probe_s": fixed + (ProbeConfig().steps - 1) * steady,
                "tokens": result.tokens,
                "losses": result.losses.tolist(),
                "bits_per_byte": result.bits_per_byte.tolist(),
                "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        del tables, result
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "what": __doc__.splitlines()[0],
                "probe_config": asdict(config),
                "rows": rows,
                "loadavg_at_end": os.getloadavg(),
                "machine": "2 shared CPU cores (other engineers' jobs running)",
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
