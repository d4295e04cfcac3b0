"""CPU ablation of the v2 settings (issue 19): each variant changes one field of ablation.yaml; every
variant runs with several seeds; the final validation (held-out and out-of-domain bits per byte under
fixed monolingual tokenizers, identity reconstruction) is collected into ablation.json and a plot.
An effect is "beyond noise" when the variant's seed mean differs from the baseline's by more than
twice the standard error of the difference.

    python experiments/hypernet-v2/make_tokenizers.py --langs en de zh
    nice -n 5 python experiments/hypernet-v2/ablation.py --seeds 0 1 \
        --variants baseline identity_long trained_rescalers one_language maxlen_15

(the committed ablation.json/png: 10 runs of 100 identity + 60 text steps, 6-16 min each by load;
width_model, full_vocab, lang_embedding and identity_short are defined but were not run on this CPU).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zett.config import load_config
from zett.hypernet import TrainConfig, train
from zett.hypernet.provenance import last_validation

HERE = Path(__file__).parent
VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "identity_long": ["optim.identity_steps=300", "optim.total_steps=360"],
    "identity_short": ["optim.identity_steps=10", "optim.total_steps=70"],
    "one_language": ["collator.lang_sampling=one_per_batch"],
    "lang_embedding": ["collator.lang_sampling=one_per_batch", "hypernet.lang_embedding=true"],
    "maxlen_15": ["collator.surface_maxlen=15"],
    "width_model": ["hypernet.width_from_model=true"],
    "full_vocab": ["collator.n_subsample=null"],
    "trained_rescalers": ["hypernet.train_rescalers=true"],
}


def run(variant: str, seed: int, root: Path) -> dict:
    workdir = root / f"{variant}-s{seed}"
    overrides = [*VARIANTS[variant], f"seed={seed}", f"collator.seed={seed}", f"workdir={workdir}"]
    cfg = load_config(TrainConfig, HERE / "ablation.yaml", overrides)
    train(cfg, progress=False)
    return last_validation(workdir / "metrics.jsonl") or {}


def summarise(rows: dict[str, list[dict]]) -> dict:
    base = rows["baseline"]
    keys = sorted({k for r in base for k in r if k != "step"})
    out = {}
    for variant, runs in rows.items():
        out[variant] = {}
        for k in keys:
            v = np.array([r[k] for r in runs if k in r], np.float64)
            b = np.array([r[k] for r in base if k in r], np.float64)
            # seed-to-seed variance: the variant's own where it has ≥ 2 seeds, else the baseline's
            # (the same training noise is assumed for a one-seed variant)
            var_v = v.var(ddof=1) if v.size > 1 else b.var(ddof=1) if b.size > 1 else np.nan
            var_b = b.var(ddof=1) if b.size > 1 else var_v
            se = np.sqrt(var_v / v.size + var_b / b.size)
            diff = float(v.mean() - b.mean())
            out[variant][k] = {
                "mean": float(v.mean()),
                "seeds": v.tolist(),
                "diff_vs_baseline": diff,
                "se_of_diff": float(se),
                "beyond_noise": bool(np.isfinite(se) and abs(diff) > 2 * se),
            }
    return out


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in summary["baseline"] if k.endswith("bits_per_byte")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 4), squeeze=False)
    for ax, k in zip(axes[0], keys):
        names = list(summary)
        for i, name in enumerate(names):
            seeds = summary[name][k]["seeds"]
            ax.scatter([i] * len(seeds), seeds, s=12)
            ax.plot([i - 0.3, i + 0.3], [summary[name][k]["mean"]] * 2, "k-")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
        ax.set_title(k.replace("/bits_per_byte", ""), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--root", default="runs/ablation")
    args = ap.parse_args()
    out = HERE / "ablation.json"
    done = json.loads(out.read_text())["runs"] if out.exists() else {}
    for variant in ["baseline", *[v for v in args.variants if v != "baseline"]]:
        for seed in args.seeds:
            key = f"{variant}/{seed}"
            if key not in done:  # resumable: finished runs are kept
                done[key] = run(variant, seed, Path(args.root))
                out.write_text(json.dumps({"runs": done}, indent=2) + "\n")
    rows: dict[str, list[dict]] = {}
    for key, res in done.items():
        rows.setdefault(key.split("/")[0], []).append(res)
    summary = summarise(rows)
    out.write_text(json.dumps({"command": vars(args), "runs": done, "summary": summary}, indent=2))
    plot(summary, HERE / "ablation.png")


if __name__ == "__main__":
    main()
