"""Bench records → results.json / results.csv / results.md (a table per model) and PNG plots."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

FIELDS = (
    "model",
    "tokenizer",
    "language",
    "method",
    "bits_per_byte",
    "bytes_per_token",
    "ratio_to_original",
    "n_bytes",
    "n_tokens",
    "n_texts",
    "seconds",
    "skipped",
)


def add_ratios(records: Sequence[dict]) -> list[dict]:
    """ratio_to_original = bpb / bpb of the model with its own tokenizer on the same texts."""
    base = {
        (r["model"], r["language"]): r["bits_per_byte"]
        for r in records
        if r["method"] == "original" and "bits_per_byte" in r
    }
    out = []
    for r in records:
        r = dict(r)
        b = base.get((r["model"], r["language"]))
        if b and "bits_per_byte" in r:
            r["ratio_to_original"] = r["bits_per_byte"] / b
        out.append(r)
    return out


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def markdown_tables(records: Sequence[dict]) -> str:
    """Per model: rows = tokenizer × language, columns = methods; cell 'bpb (×ratio)'."""
    lines = []
    for model in dict.fromkeys(r["model"] for r in records):
        rs = [r for r in records if r["model"] == model]
        methods = list(dict.fromkeys(r["method"] for r in rs))
        rows = list(dict.fromkeys((r["tokenizer"], r["language"]) for r in rs))
        by = {(r["tokenizer"], r["language"], r["method"]): r for r in rs}
        lines += [
            f"## {model}",
            "",
            "bits per byte (ratio to the original model on the same bytes); "
            "B/tok = UTF-8 bytes per token",
            "",
            "| tokenizer | language | B/tok | " + " | ".join(methods) + " |",
            "|---|---|---:|" + "---:|" * len(methods),
        ]
        for tok, lang in rows:
            cells, bpt = [], ""
            for m in methods:
                # the model on its own tokenizer is the reference for every target-tokenizer row
                r = by.get((tok, lang, m)) or (
                    by.get(("original", lang, m)) if m == "original" else None
                )
                if r is None:
                    cells.append("")
                elif "bits_per_byte" not in r:
                    cells.append("skipped")
                else:
                    if r["tokenizer"] == tok:
                        bpt = bpt or f"{r['bytes_per_token']:.2f}"
                    ratio = r.get("ratio_to_original")
                    cells.append(
                        f"{r['bits_per_byte']:.3f}" + (f" (×{ratio:.2f})" if ratio else "")
                    )
            lines.append(f"| {tok} | {lang} | {bpt} | " + " | ".join(cells) + " |")
        skipped = {r["method"]: r["skipped"] for r in rs if "skipped" in r}
        lines += [""] + [f"- `{m}` skipped: {why}" for m, why in skipped.items()] + [""]
    return "\n".join(lines)


def plot(records: Sequence[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    scored = [r for r in records if "bits_per_byte" in r]
    for model in dict.fromkeys(r["model"] for r in scored):
        rs = [r for r in scored if r["model"] == model]
        toks = [t for t in dict.fromkeys(r["tokenizer"] for r in rs) if t != "original"]
        orig = {r["language"]: r["bits_per_byte"] for r in rs if r["method"] == "original"}
        safe = model.replace("/", "_")
        fig, axes = plt.subplots(
            len(toks) or 1, 1, figsize=(10, 3 * max(len(toks), 1)), squeeze=False
        )
        for ax, tok in zip(axes[:, 0], toks or ["original"]):
            sub = [r for r in rs if r["tokenizer"] == tok]
            langs = list(dict.fromkeys(r["language"] for r in sub))
            methods = ["original"] * bool(orig) + list(
                dict.fromkeys(r["method"] for r in sub if r["method"] != "original")
            )
            width = 0.8 / max(len(methods), 1)
            for i, m in enumerate(methods):
                vals = [
                    orig.get(lang, np.nan)
                    if m == "original"
                    else next(
                        (
                            r["bits_per_byte"]
                            for r in sub
                            if r["language"] == lang and r["method"] == m
                        ),
                        np.nan,
                    )
                    for lang in langs
                ]
                ax.bar(np.arange(len(langs)) + i * width, vals, width, label=m)
            ax.set_xticks(np.arange(len(langs)) + 0.4 - width / 2, langs)
            ax.set_ylabel("bits / byte")
            ax.set_title(f"{model} → {tok}")
            ax.legend(fontsize=7, ncol=4)
        fig.tight_layout()
        p = out / f"bpb_{safe}.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        written.append(p)

    comp: dict[tuple[str, str], float] = {}
    for r in scored:
        comp.setdefault((r["tokenizer"], r["language"]), r["bytes_per_token"])
    if comp:
        toks = list(dict.fromkeys(t for t, _ in comp))
        langs = list(dict.fromkeys(lang for _, lang in comp))
        fig, ax = plt.subplots(figsize=(10, 4))
        width = 0.8 / len(toks)
        for i, t in enumerate(toks):
            ax.bar(
                np.arange(len(langs)) + i * width,
                [comp.get((t, lang), np.nan) for lang in langs],
                width,
                label=t,
            )
        ax.set_xticks(np.arange(len(langs)) + 0.4 - width / 2, langs)
        ax.set_ylabel("UTF-8 bytes / token")
        ax.set_title("compression by tokenizer ('original' = each model's own)")
        ax.legend(fontsize=7, ncol=3)
        fig.tight_layout()
        p = out / "compression.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        written.append(p)
    return written


def write_report(
    records: Sequence[dict], out: str | Path, config: Any = None, plots: bool = True
) -> dict[str, Any]:
    out = Path(out)
    records = add_ratios(records)
    doc = {"config": asdict(config) if is_dataclass(config) else config, "results": records}
    _write(out / "results.json", json.dumps(doc, indent=1, ensure_ascii=False))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore")
    w.writeheader()
    w.writerows(records)
    _write(out / "results.csv", buf.getvalue())
    _write(out / "results.md", "# zett bench\n\n" + markdown_tables(records))
    pngs = plot(records, out) if plots else []
    return {"records": records, "plots": pngs}
