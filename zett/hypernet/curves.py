"""The validation curves of a hypernetwork run as a plot: `validation.png` beside its `metrics.jsonl`.

Left: bits per byte of the base model under each fixed validation tokenizer (one colour per
tokenizer, or language/tokenizer for the monolingual ones) at each validation step, held-out text
solid, out-of-domain text dashed. Right, when logged: identity reconstruction (mean cosine and mean
relative error of the predicted vs source rows). `zett train` draws it at the end of a run that
validates; redraw it for an existing run with

    python -m zett.hypernet.curves RUN_DIR [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

TEXT_SETS = {"val": "held-out", "val_ood": "out-of-domain"}
BPB = "bits_per_byte"
IDENTITY = ("identity/cosine_mean", "identity/rel_error_mean")
IDENTITY_OUT = ("identity_out/cosine_mean", "identity_out/rel_error_mean")
PLOT_NAME = "validation.png"


@dataclass(frozen=True)
class Curve:
    """One logged metric over the validation steps: `key` as in metrics.jsonl (e.g.
    "val_ood/de/unigram.json/bits_per_byte"), `steps` / `values` in log order."""

    key: str
    steps: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def text_set(self) -> str | None:
        """ "val" / "val_ood" for a bits-per-byte curve, None for identity reconstruction."""
        head = self.key.split("/", 1)[0]
        return head if head in TEXT_SETS else None

    @property
    def tokenizer(self) -> str:
        """What the curve's colour stands for: "<tokenizer>" or "<lang>/<tokenizer>"."""
        return self.key.split("/", 1)[1].removesuffix(f"/{BPB}")


def validation_curves(metrics_path: str | Path) -> dict[str, Curve]:
    """Every validation metric of a run's metrics log (bits per byte of each validation set and
    tokenizer, identity reconstruction), keyed as logged; {} when the run logged none."""
    steps: dict[str, list[int]] = {}
    values: dict[str, list[float]] = {}
    path = Path(metrics_path)
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not a JSON line ({e.msg})") from None
        for key, value in row.items():
            bpb = key.split("/", 1)[0] in TEXT_SETS and key.endswith(f"/{BPB}")
            if bpb or key in IDENTITY + IDENTITY_OUT:
                steps.setdefault(key, []).append(int(row["step"]))
                values.setdefault(key, []).append(float(value))
    return {k: Curve(k, tuple(steps[k]), tuple(values[k])) for k in steps}


def plot_validation(run_dir: str | Path, out: str | Path | None = None) -> dict[str, Curve]:
    """Draws the validation curves of the run in `run_dir` (its metrics.jsonl) into `out` (default
    `run_dir/validation.png`, written to a temp file, then renamed); returns the curves drawn, as
    read from the log. Fails when the log is missing or holds no validation rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    metrics = run_dir / "metrics.jsonl"
    if not metrics.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.jsonl (not a zett train work directory?)")
    curves = validation_curves(metrics)
    if not curves:
        raise ValueError(
            f"{metrics}: no validation rows (the run had no validation tokenizers, or stopped "
            "before its first validation)"
        )
    bpb = [c for c in curves.values() if c.text_set is not None]
    identity = [c for c in curves.values() if c.text_set is None]
    fig, axes = plt.subplots(
        1, 1 + bool(identity), figsize=(6.5 * (1 + bool(identity)), 4.2), squeeze=False
    )
    ax = axes[0, 0]
    colours = {t: f"C{i % 10}" for i, t in enumerate(dict.fromkeys(c.tokenizer for c in bpb))}
    for c in bpb:
        style = "-" if c.text_set == "val" else "--"
        label = f"{c.tokenizer} ({TEXT_SETS[c.text_set]})"
        ax.plot(c.steps, c.values, style, color=colours[c.tokenizer], marker=".", label=label)
    ax.set(xlabel="step", ylabel="bits per byte", title="validation: held-out solid, OOD dashed")
    if bpb:
        ax.legend(fontsize=7)
    if identity:
        ax = axes[0, 1]
        for c in identity:
            table = "output" if c.key.startswith("identity_out/") else "input"
            style = "-" if c.key.endswith("cosine_mean") else "--"
            colour = "C0" if table == "input" else "C1"
            label = f"{table} rows: {c.key.split('/', 1)[1]}"
            ax.plot(c.steps, c.values, style, color=colour, marker=".", label=label)
        ax.set(xlabel="step", title="identity reconstruction (source tokens)")
        ax.legend(fontsize=7)
    fig.suptitle(f"{run_dir.name}: validation")
    fig.tight_layout()
    out = Path(out) if out is not None else run_dir / PLOT_NAME
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=110)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return curves


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zett.hypernet.curves",
        description="Redraw validation.png of a zett train work directory from its metrics.jsonl.",
    )
    parser.add_argument("run_dir", help="the run's work directory (holds metrics.jsonl)")
    parser.add_argument(
        "--out", default=None, help="the PNG to write (default RUN_DIR/validation.png)"
    )
    args = parser.parse_args(argv)
    curves = plot_validation(args.run_dir, args.out)
    print(f"{len(curves)} curves → {args.out or Path(args.run_dir) / PLOT_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
