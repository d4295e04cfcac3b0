"""Plots the shipped hypernetwork's training curve from its metrics log.

python experiments/smollm2/plot_curve.py [metrics.jsonl] [out.png]"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).parent


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "train_metrics.jsonl"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "train_curve.png"
    rows = [json.loads(line) for line in src.read_text().splitlines() if line.strip()]
    ident = [r for r in rows if r["phase"] == "identity"]
    main_rows = [r for r in rows if r["phase"] == "main"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot([r["step"] for r in ident], [r["aux_loss"] for r in ident], color="tab:gray")
    axes[0].set(
        title="identity phase: regression onto source rows",
        xlabel="step",
        ylabel="loss",
        yscale="log",
    )
    axes[1].plot(
        [r["step"] for r in main_rows], [r["lm_loss"] for r in main_rows], lw=0.8, color="tab:blue"
    )
    axes[1].set(title="main phase: LM loss (nats/token, sampled tokenizers)", xlabel="step")
    axes[2].plot(
        [r["step"] for r in main_rows],
        [r["bits_per_byte"] for r in main_rows],
        lw=0.8,
        color="tab:orange",
    )
    axes[2].set(title="training bits per byte", xlabel="step")
    fig.suptitle("SmolLM2-135M hypernetwork (experiments/smollm2/hypernet.yaml, one H100)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
