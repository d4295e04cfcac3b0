"""Bench records → results.json / results.csv / results.md (tables per model: bits per byte, and each
method's difference to FVT and to the original with paired bootstrap 95% intervals) and PNG plots."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zett.eval.stats import bootstrap_indices, paired_difference

FIELDS = (
    "model",
    "model_name",
    "tokenizer",
    "language",
    "domain",
    "method",
    "steps",
    "bits_per_byte",
    "bytes_per_token",
    "ratio_to_original",
    "diff_fvt",
    "diff_fvt_low",
    "diff_fvt_high",
    "diff_original",
    "diff_original_low",
    "diff_original_high",
    "n_bytes",
    "n_tokens",
    "n_texts",
    "n_units",
    "unk_bytes",
    "special_bytes",
    "dropped_bytes",
    "focus_vectors",
    "focus_fallback",
    "probe_loss_first",
    "probe_loss_last",
    "probe_seconds",
    "seconds",
    "missing",
)
REFERENCES = ("fvt", "original")


def label(r: dict) -> str:
    """A record's column: its method, with "+N" after N probe steps (`BenchConfig.probe`)."""
    return r["method"] + (f" +{r['steps']}" if r.get("steps") else "")


def add_comparisons(records: Sequence[dict], samples: int = 1000, seed: int = 0) -> list[dict]:
    """ratio_to_original, and diff_<ref> (bits/byte − the reference's) with its 95% interval
    (_low, _high) for ref = FVT on the same tokenizer and the original model, both on the same
    passages; every pair on one passage set sees the same bootstrap resamples. A record after N
    probe steps is compared with FVT after the same N steps (and the zero-shot original)."""
    scored = [r for r in records if "bits_per_byte" in r]
    refs = {
        "original": {
            (r["model"], r["language"], r["domain"]): r for r in scored if r["method"] == "original"
        },
        "fvt": {
            (r["model"], r["tokenizer"], r["language"], r["domain"], r.get("steps", 0)): r
            for r in scored
            if r["method"] == "fvt"
        },
    }
    indices: dict[int, np.ndarray] = {}
    out = []
    for r in records:
        r = dict(r)
        out.append(r)
        if "bits_per_byte" not in r:
            continue
        for name, key in (
            ("original", (r["model"], r["language"], r["domain"])),
            ("fvt", (r["model"], r["tokenizer"], r["language"], r["domain"], r.get("steps", 0))),
        ):
            ref = refs[name].get(key)
            if ref is None or label(ref) == label(r):
                continue
            if name == "original":
                r["ratio_to_original"] = r["bits_per_byte"] / ref["bits_per_byte"]
            if ref.get("docs") != r.get("docs") or ref.get("doc_bytes") != r.get("doc_bytes"):
                raise ValueError(
                    f"{r['model']} {r['tokenizer']} {r['language']} {r['domain']}: {r['method']} "
                    f"and {name} were scored on different passages; rerun the bench"
                )
            n = len(r["doc_bits"])
            if n not in indices:
                indices[n] = bootstrap_indices(n, samples, seed)
            iv = paired_difference(r["doc_bits"], ref["doc_bits"], r["doc_bytes"], indices[n])
            r[f"diff_{name}"], r[f"diff_{name}_low"], r[f"diff_{name}_high"] = (
                iv.diff,
                iv.low,
                iv.high,
            )
    return out


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _diff_cell(r: dict | None, ref: str, flip: bool = False) -> str:
    """'±d [lo, hi]', marked ≈ when the interval includes 0; `flip`: the reference's difference
    to `r`'s method, read from `r` (the original's difference to FVT is −FVT's to the original)."""
    if r is None or f"diff_{ref}" not in r:
        return ""
    d, lo, hi = r[f"diff_{ref}"], r[f"diff_{ref}_low"], r[f"diff_{ref}_high"]
    if flip:
        d, lo, hi = 0.0 - d, 0.0 - hi, 0.0 - lo  # 0.0 - 0.0 is +0.0, not -0.0
    mark = "≈ " if lo <= 0.0 <= hi else ""
    return f"{mark}{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def markdown_tables(records: Sequence[dict], config: Any = None) -> str:
    """Per model: bits/byte (× original), then differences to FVT and to the original; rows =
    tokenizer × language × domain (the domains of a row side by side), columns = methods."""
    lines = []
    protocol = getattr(config, "protocol", None)
    if protocol is not None:
        lines += [
            f"Protocol: every token predicted from the text in the {protocol.context_bytes} bytes "
            f"before its {protocol.stride_bytes}-byte window and the window so far "
            "(`zett.eval.protocol`); bits/byte = Σ NLL bits / Σ UTF-8 bytes of the passages. "
            "Intervals: paired bootstrap 95% over passages; ≈ marks an interval that includes 0.",
            "",
        ]
    for model in dict.fromkeys(r["model"] for r in records):
        rs = [r for r in records if r["model"] == model]
        methods = list(dict.fromkeys(label(r) for r in rs))
        domains = list(dict.fromkeys(r["domain"] for r in rs))
        toks = list(dict.fromkeys(r["tokenizer"] for r in rs))
        langs = list(dict.fromkeys(r["language"] for r in rs))
        by = {(r["tokenizer"], r["language"], r["domain"], label(r)): r for r in rs}
        rows = [
            (t, lang, d)
            for t in toks
            for lang in langs
            for d in domains
            if any((t, lang, d, m) in by for m in methods)
        ]

        def find(tok, lang, dom, m, by=by):
            # the model on its own tokenizer is the reference for every target-tokenizer row
            return by.get((tok, lang, dom, m)) or (
                by.get(("original", lang, dom, m)) if m == "original" else None
            )

        name = rs[0].get("model_name", model)
        head = "| tokenizer | language | domain | B/tok | " + " | ".join(methods) + " |"
        rule = "|---|---|---|---:|" + "---:|" * len(methods)
        lines += [f"## {name}", "", "bits per byte (× the original model on the same bytes)", ""]
        lines += [head, rule]
        for tok, lang, dom in rows:
            cells, bpt = [], ""
            for m in methods:
                r = find(tok, lang, dom, m)
                if r is None:
                    cells.append("")
                elif "bits_per_byte" not in r:
                    cells.append("missing")
                else:
                    if r["tokenizer"] == tok:
                        bpt = bpt or f"{r['bytes_per_token']:.2f}"
                    ratio = r.get("ratio_to_original")
                    cells.append(
                        f"{r['bits_per_byte']:.3f}" + (f" (×{ratio:.2f})" if ratio else "")
                    )
            lines.append(f"| {tok} | {lang} | {dom} | {bpt} | " + " | ".join(cells) + " |")
        for ref in REFERENCES:
            others = [m for m in methods if m != ref]
            lines += [
                "",
                f"difference to {ref} (bits/byte, [95% interval]; negative = better than {ref})",
                "",
                "| tokenizer | language | domain | " + " | ".join(others) + " |",
                "|---|---|---|" + "---:|" * len(others),
            ]
            for tok, lang, dom in rows:
                cells = [
                    _diff_cell(find(tok, lang, dom, "fvt"), "original", flip=True)
                    if (ref, m) == ("fvt", "original")
                    else _diff_cell(find(tok, lang, dom, m), ref)
                    for m in others
                ]
                if any(cells):
                    lines.append(f"| {tok} | {lang} | {dom} | " + " | ".join(cells) + " |")
        lines += ranking_lines(rs)
        focus = {
            r["tokenizer"]: (r["focus_vectors"], r["focus_fallback"])
            for r in rs
            if "focus_vectors" in r
        }
        missing = {(r["domain"], r["language"]): r["missing"] for r in rs if "missing" in r}
        unk = {
            (r["tokenizer"], r["language"], r["domain"]): r["unk_bytes"]
            for r in rs
            if r.get("unk_bytes")
        }
        lines.append("")
        lines += [
            f"- FOCUS on `{t}`: {v} target tokens with a fastText vector, {f} by the random "
            "fallback"
            for t, (v, f) in focus.items()
        ]
        lines += [
            f"- `<unk>` covers {b} bytes of `{t}` × {lg} × {d}" for (t, lg, d), b in unk.items()
        ]
        lines += [f"- {d} × {lg} missing: {why}" for (d, lg), why in missing.items()]
        lines.append("")
    return "\n".join(lines)


def ranking_lines(records: Sequence[dict]) -> list[str]:
    """Per (tokenizer, language, domain) with probe records: the methods ranked by bits/byte
    zero-shot and after N steps (best first), and whether the order changed."""
    probed = [r for r in records if r.get("steps") and "bits_per_byte" in r]
    if not probed:
        return []
    zero = {
        (r["tokenizer"], r["language"], r["domain"], r["method"]): r["bits_per_byte"]
        for r in records
        if not r.get("steps") and "bits_per_byte" in r
    }
    lines = [
        "",
        "ranking zero-shot → after N probe steps (best first; methods probed on the row)",
        "",
        "| tokenizer | language | domain | N | zero-shot | after N | same order |",
        "|---|---|---|---:|---|---|---|",
    ]
    for tok, lang, dom, n in dict.fromkeys(
        (r["tokenizer"], r["language"], r["domain"], r["steps"]) for r in probed
    ):
        after = {
            r["method"]: r["bits_per_byte"]
            for r in probed
            if (r["tokenizer"], r["language"], r["domain"], r["steps"]) == (tok, lang, dom, n)
        }
        before = {m: zero[(tok, lang, dom, m)] for m in after if (tok, lang, dom, m) in zero}
        a = sorted(before, key=before.get)
        b = sorted(before, key=after.get)
        lines.append(
            f"| {tok} | {lang} | {dom} | {n} | {' < '.join(a)} | {' < '.join(b)} | "
            f"{'yes' if a == b else 'no'} |"
        )
    return lines


def plot(records: Sequence[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    scored = [r for r in records if "bits_per_byte" in r and not r.get("steps")]
    groups = dict.fromkeys((r["model"], r["domain"]) for r in scored)
    for model, domain in groups:
        rs = [r for r in scored if r["model"] == model and r["domain"] == domain]
        toks = [t for t in dict.fromkeys(r["tokenizer"] for r in rs) if t != "original"]
        orig = {r["language"]: r["bits_per_byte"] for r in rs if r["method"] == "original"}
        safe = f"{model}_{domain}".replace("/", "_")
        # one colour per method in every panel of the figure
        palette = plt.get_cmap("tab20").colors
        colour = {
            m: palette[i % len(palette)]
            for i, m in enumerate(dict.fromkeys(["original", *(r["method"] for r in rs)]))
        }
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
                ax.bar(np.arange(len(langs)) + i * width, vals, width, label=m, color=colour[m])
            ax.set_xticks(np.arange(len(langs)) + 0.4 - width / 2, langs)
            ax.set_ylabel("bits / byte")
            ax.set_title(f"{rs[0].get('model_name', model)} → {tok} ({domain})")
            ax.legend(fontsize=7, ncol=4)
        fig.tight_layout()
        p = out / f"bpb_{safe}.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        written.append(p)

    written += plot_differences(scored, out)
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


def plot_differences(scored: Sequence[dict], out: Path) -> list[Path]:
    """One forest plot per (model, domain): each method's bits/byte − FVT's on the same tokenizer,
    language and passages, with its paired-bootstrap 95% interval (`add_comparisons`); left of 0
    is better than FVT. The bar charts show levels; this shows what the intervals say."""
    import matplotlib.pyplot as plt

    written = []
    compared = [r for r in scored if "diff_fvt" in r]
    for model, domain in dict.fromkeys((r["model"], r["domain"]) for r in compared):
        rs = [r for r in compared if r["model"] == model and r["domain"] == domain]
        rows = list(dict.fromkeys((r["tokenizer"], r["language"]) for r in rs))
        methods = list(dict.fromkeys(r["method"] for r in rs))
        palette = plt.get_cmap("tab10").colors
        height = 0.8 / len(methods)
        fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * len(rows)))
        by = {(r["tokenizer"], r["language"], r["method"]): r for r in rs}
        for i, m in enumerate(methods):
            pts = [(j, by[(*row, m)]) for j, row in enumerate(rows) if (*row, m) in by]
            y = [j + 0.4 - (i + 0.5) * height for j, _ in pts]
            d = np.array([r["diff_fvt"] for _, r in pts])
            lo = np.array([r["diff_fvt_low"] for _, r in pts])
            hi = np.array([r["diff_fvt_high"] for _, r in pts])
            ax.errorbar(
                d,
                y,
                xerr=[d - lo, hi - d],
                fmt="o",
                ms=3,
                capsize=2,
                label=m,
                color=palette[i % len(palette)],
            )
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_yticks(range(len(rows)), [f"{t} · {lang}" for t, lang in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("bits/byte − FVT's (95% paired bootstrap interval; < 0 is better)")
        ax.set_title(f"{rs[0].get('model_name', model)} ({domain})", fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        p = out / f"diff_fvt_{model}_{domain}.png".replace("/", "_")
        fig.savefig(p, dpi=80)
        plt.close(fig)
        written.append(p)
    return written


def write_report(
    records: Sequence[dict], out: str | Path, config: Any = None, plots: bool = True
) -> dict[str, Any]:
    out = Path(out)
    records = add_comparisons(
        records, getattr(config, "bootstrap_samples", 1000), getattr(config, "seed", 0)
    )
    doc = {"config": asdict(config) if is_dataclass(config) else config, "results": records}
    _write(out / "results.json", json.dumps(doc, indent=1, ensure_ascii=False))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore")
    w.writeheader()
    w.writerows(records)
    _write(out / "results.csv", buf.getvalue())
    _write(out / "results.md", "# zett bench\n\n" + markdown_tables(records, config))
    pngs = plot(records, out) if plots else []
    return {"records": records, "plots": pngs}
