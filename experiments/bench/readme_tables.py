"""Writes README.md's results section from the committed bench JSON (never by hand).

    python experiments/bench/readme_tables.py            # rewrites the block between the markers
    python experiments/bench/readme_tables.py --check    # fails when README is not up to date

Reads experiments/bench/results-smollm2-32/ and results-gemma3/results.json (`zett
bench` output: config + records with bootstrap intervals) and the old protocol's numbers from the results
committed at OLD_COMMIT (before/after of the protocol change)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = {
    "smollm2": ROOT / "experiments/bench/results-smollm2-32/results.json",
    "gemma3": ROOT / "experiments/bench/results-gemma3/results.json",
}
COMMANDS = {
    "smollm2": "zett bench experiments/bench/smollm2-32.yaml, in the stages of experiments/bench/README.md",
    "gemma3": "zett bench experiments/bench/gemma3-run.yaml",
}
# the last results under the old protocol (max_len 256 tokens of the scoring tokenizer, 8 passages)
OLD_COMMIT = "54abf07"
OLD_RESULTS = "experiments/bench/results/cells.jsonl"
BEGIN = "<!-- bench-results:begin (experiments/bench/readme_tables.py writes this block) -->"
END = "<!-- bench-results:end -->"
LANGS = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "ru": "Russian",
    "ar": "Arabic",
    "hi": "Hindi",
    "zh": "Chinese",
    "py": "Python",
    "arith": "arithmetic",
}


def label(r: dict) -> str:
    return r["method"] + (f" +{r['steps']}" if r.get("steps") else "")


def interval(r: dict | None, ref: str) -> str:
    if r is None or f"diff_{ref}" not in r:
        return ""
    d, lo, hi = r[f"diff_{ref}"], r[f"diff_{ref}_low"], r[f"diff_{ref}_high"]
    return f"{'≈ ' if lo <= 0 <= hi else ''}{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def vs_best_baseline(hyper: dict, baselines: list[dict], doc: dict) -> tuple[str, str]:
    """(name, 'd [lo, hi]') of hypernet − the best other transfer method on the row, with a paired
    bootstrap interval over the same passages (the bench's resamples: same count and seed)."""
    from zett.eval.stats import bootstrap_indices, paired_difference

    best = min(baselines, key=lambda r: r["bits_per_byte"])
    n = len(hyper["doc_bits"])
    idx = bootstrap_indices(n, doc["config"]["bootstrap_samples"], doc["config"]["seed"])
    iv = paired_difference(hyper["doc_bits"], best["doc_bits"], hyper["doc_bytes"], idx)
    mark = "≈ " if iv.low <= 0 <= iv.high else ""
    return best["method"], f"{mark}{iv.diff:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def short(method: str) -> str:
    if method.startswith("hypernet:"):
        return "hypernet, no copy" if "copy_overlap=false" in method else "hypernet"
    return method


def main_hypernet(methods) -> str | None:
    """The hypernet method with its default options (copying shared rows), not a variant of it."""
    return next((m for m in methods if m.startswith("hypernet:") and "," not in m), None)


def zero_shot_table(doc: dict, domain: str) -> list[str]:
    """Rows tokenizer × language; columns: B/tok, original, every method (best transfer bold),
    then hypernet − FVT and hypernet − the best other method with their intervals."""
    rs = [r for r in doc["results"] if r["domain"] == domain and not r.get("steps")]
    scored = [r for r in rs if "bits_per_byte" in r]
    hyper = main_hypernet(r["method"] for r in scored)
    # a hypernet variant (no copying) has its own table (copy_table), not a column here
    methods = [
        m
        for m in dict.fromkeys(r["method"] for r in scored)
        if m != "original" and (m == hyper or not m.startswith("hypernet:"))
    ]
    orig = {r["language"]: r for r in scored if r["method"] == "original"}
    by = {(r["tokenizer"], r["language"], r["method"]): r for r in scored}
    rows = list(
        dict.fromkeys((r["tokenizer"], r["language"]) for r in scored if r["method"] in methods)
    )
    # with FVT the only baseline, "best baseline" would repeat the FVT column
    rivals = hyper is not None and len([m for m in methods if not m.startswith("hypernet:")]) > 1
    head = ["tokenizer", "language", "B/tok (orig → new)", "original", *map(short, methods)]
    if hyper:
        head += ["hypernet − FVT [95%]"] + ["hypernet − best baseline [95%]"] * rivals
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * (len(head) - 3)]
    for tok, lang in rows:
        vals = {m: by[(tok, lang, m)]["bits_per_byte"] for m in methods if (tok, lang, m) in by}
        best = min(vals, key=vals.get) if vals else None
        o = orig.get(lang)
        any_r = next(by[(tok, lang, m)] for m in methods if (tok, lang, m) in by)
        bpt = f"{o['bytes_per_token']:.2f} → " if o else ""
        cells = [
            tok,
            LANGS.get(lang, lang),
            f"{bpt}{any_r['bytes_per_token']:.2f}",
            f"{o['bits_per_byte']:.3f}" if o else "",
        ]
        for m in methods:
            v = vals.get(m)
            cells.append("" if v is None else (f"**{v:.3f}**" if m == best else f"{v:.3f}"))
        if hyper:
            h = by.get((tok, lang, hyper))
            cells.append(interval(h, "fvt"))
            others = [
                by[(tok, lang, m)]
                for m in methods
                if not m.startswith("hypernet:") and (tok, lang, m) in by
            ]
            if rivals and h is not None and others:
                name, iv = vs_best_baseline(h, others, doc)
                cells.append(f"{iv} ({short(name)})")
            elif rivals:
                cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def verdict(doc: dict) -> list[str]:
    """Where the hypernet beats FVT beyond the 95% interval, where the interval includes 0 and
    where FVT is better — read from the records, one sentence."""
    groups: dict[str, list[str]] = {"beats": [], "tie": [], "loses": []}
    hyper = main_hypernet(r["method"] for r in doc["results"])
    for r in doc["results"]:
        if r["method"] != hyper or r.get("steps") or "diff_fvt" not in r:
            continue
        where = f"{r['tokenizer']} {LANGS.get(r['language'], r['language'])} {r['domain']}"
        if r["diff_fvt_high"] < 0:
            groups["beats"].append(where)
        elif r["diff_fvt_low"] > 0:
            groups["loses"].append(where)
        else:
            groups["tie"].append(where)
    if not any(groups.values()):
        return []
    parts = [
        f"{text}: {', '.join(groups[k]) or 'none'}"
        for k, text in (
            ("beats", "the hypernet beats FVT beyond the interval on"),
            ("tie", "the interval includes 0 on"),
            ("loses", "FVT is better beyond the interval on"),
        )
    ]
    return ["; ".join(parts)[0].upper() + "; ".join(parts)[1:] + ".", ""]


def copy_table(doc: dict) -> list[str]:
    """hypernet with copying − hypernet predicting every row, per row that has both, with a paired
    bootstrap interval over the same passages."""
    from zett.eval.stats import bootstrap_indices, paired_difference

    rs = [r for r in doc["results"] if "bits_per_byte" in r and not r.get("steps")]
    hyper = main_hypernet(r["method"] for r in rs)
    no_copy = {
        (r["tokenizer"], r["language"], r["domain"]): r
        for r in rs
        if short(r["method"]) == "hypernet, no copy"
    }
    lines = []
    for r in rs:
        tok, lang, dom = r["tokenizer"], r["language"], r["domain"]
        other = no_copy.get((tok, lang, dom))
        if r["method"] != hyper or other is None:
            continue
        idx = bootstrap_indices(
            len(r["doc_bits"]), doc["config"]["bootstrap_samples"], doc["config"]["seed"]
        )
        iv = paired_difference(r["doc_bits"], other["doc_bits"], r["doc_bytes"], idx)
        mark = "≈ " if iv.low <= 0 <= iv.high else ""
        lines.append(
            f"| {tok} | {LANGS.get(lang, lang)} | {dom} | {r['bits_per_byte']:.3f} | "
            f"{other['bits_per_byte']:.3f} | {mark}{iv.diff:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}] |"
        )
    if not lines:
        return []
    return [
        "| tokenizer | language | domain | hypernet (copy) | no copy | copy − no copy [95%] |",
        "|---|---|---|---:|---:|---:|",
        *lines,
    ]


def probe_table(doc: dict) -> list[str]:
    probed = [r for r in doc["results"] if r.get("steps") and "bits_per_byte" in r]
    if not probed:
        return []
    zero = {
        (r["tokenizer"], r["language"], r["domain"], r["method"]): r["bits_per_byte"]
        for r in doc["results"]
        if not r.get("steps") and "bits_per_byte" in r
    }
    methods = list(dict.fromkeys(r["method"] for r in probed))
    n = probed[0]["steps"]
    lines = [
        "| tokenizer | language | domain | "
        + " | ".join(f"{short(m)} (0 → {n})" for m in methods)
        + " | ranking changes |",
        "|---|---|---|" + "---:|" * len(methods) + "---|",
    ]
    for tok, lang, dom in dict.fromkeys(
        (r["tokenizer"], r["language"], r["domain"]) for r in probed
    ):
        after = {
            r["method"]: r["bits_per_byte"]
            for r in probed
            if (r["tokenizer"], r["language"], r["domain"]) == (tok, lang, dom)
        }
        before = {m: zero[(tok, lang, dom, m)] for m in after if (tok, lang, dom, m) in zero}
        cells = [
            f"{before[m]:.3f} → {after[m]:.3f}" if m in after and m in before else ""
            for m in methods
        ]
        a = [short(m) for m in sorted(before, key=before.get)]
        b = [short(m) for m in sorted(before, key=after.get)]
        change = "no" if a == b else f"yes: {' < '.join(a)} → {' < '.join(b)}"
        lines.append(
            f"| {tok} | {LANGS.get(lang, lang)} | {dom} | " + " | ".join(cells) + f" | {change} |"
        )
    return lines


def digit_table(docs: dict[str, dict]) -> list[str]:
    """How each tokenizer with an arithmetic row cuts the scored equations' numbers (the bench's
    `digit_split` record, `zett.eval.arithmetic`)."""
    splits: dict[str, dict] = {}
    for model, doc in docs.items():
        for r in doc["results"]:
            if "digit_split" in r:
                splits.setdefault(model if r["tokenizer"] == "original" else r["tokenizer"], r)
    if not splits:
        return []
    lines = [
        "| tokenizer | digits per digit-token | tokens with > 1 digit |",
        "|---|---:|---:|",
    ]
    for spec, r in splits.items():
        d = r["digit_split"]
        if d["digit_tokens"]:
            lines.append(
                f"| {spec} | {d['digits_per_token']:.2f} | {100 * d['multi_digit_share']:.0f}% |"
            )
        else:
            lines.append(f"| {spec} | every digit read as `<unk>` | |")
    return lines


def old_numbers() -> dict[tuple[str, str], float]:
    """The original SmolLM2's bits/byte per language under the old protocol (OLD_COMMIT)."""
    text = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:{OLD_RESULTS}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out = {}
    for line in text.splitlines():
        r = json.loads(line)
        if r["method"] == "original" and "bits_per_byte" in r:
            out[(r["model"], r["language"])] = r["bits_per_byte"]
    return out


def setting(doc: dict) -> str:
    c = doc["config"]
    p = c["protocol"]
    rs = [r for r in doc["results"] if "n_texts" in r]
    units = min(r["n_units"] for r in rs) if rs else 0
    return (
        f"{c['texts_per_language']} held-out passages per language and domain from ≥ {units} "
        f"units, context {p['context_bytes']} bytes / stride {p['stride_bytes']} bytes "
        f"(`zett.eval.protocol`), {c['bootstrap_samples']} paired bootstrap resamples"
    )


def model_name(doc: dict) -> str:
    return next(r["model_name"] for r in doc["results"] if "model_name" in r)


def intro(doc: dict, key: str, what: str) -> list[str]:
    """The paragraph above a model's zero-shot tables: what moved where, the command, the setting."""
    return [
        f"**{model_name(doc)}**{what} (`{COMMANDS[key]}`; {setting(doc)}). Bits per byte, lower is "
        "better, best transfer in bold; ≈ marks a difference whose 95% interval includes 0:",
        "",
    ]


def domain_tables(doc: dict) -> list[str]:
    lines: list[str] = []
    for domain in dict.fromkeys(r["domain"] for r in doc["results"]):
        lines += [f"*{domain}*", "", *zero_shot_table(doc, domain), ""]
    return lines


def hypernet_line(doc: dict) -> list[str]:
    """Which hypernet the tables score (path, weights hash, copy policy): one line."""
    main = main_hypernet(r["method"] for r in doc["results"])
    hyper = [r for r in doc["results"] if r["method"] == main]
    options = {json.dumps(r.get("method_options"), sort_keys=True) for r in hyper}
    if len(options) > 1:
        raise SystemExit("hypernet cells with different method options: rerun the bench")
    if not (hyper and hyper[0].get("method_options")):
        return []
    o = hyper[0]["method_options"]
    return [
        f"hypernet = `{o['path']}` (sha256 of hypernet.json + weights "
        f"{o['sha256'][:12]}…), `copy_overlap={str(o['copy_overlap']).lower()}`"
        + (
            ": a target token whose bytes are a SmolLM2 token takes SmolLM2's row, every "
            "other row is the hypernet's prediction."
            if o["copy_overlap"]
            else ": every row is the hypernet's prediction."
        ),
        "",
    ]


def protocol_change(doc: dict) -> list[str]:
    """The original model per language under the old protocol (OLD_COMMIT) and now."""
    old = old_numbers()
    new = {
        r["language"]: r["bits_per_byte"]
        for r in doc["results"]
        if r["method"] == "original" and r["domain"] == "in-domain" and "bits_per_byte" in r
    }
    pairs = [
        (lang, old[("smollm2", lang)], v) for lang, v in new.items() if ("smollm2", lang) in old
    ]
    if not pairs:
        return []
    return [
        "Protocol change, the original model on its own tokenizer (bits/byte): "
        + "; ".join(
            f"{LANGS.get(lang, lang)} {o:.3f} (old: pieces of 256 tokens, 8 passages) → "
            f"{n:.3f} (now)"
            for lang, o, n in pairs
        )
        + ". The passages differ between the two (the old ones were not all held out), so "
        "the change mixes the longer context with the new text.",
        "",
    ]


def block() -> str:
    docs = {k: json.loads(p.read_text()) for k, p in RESULTS.items() if p.exists()}
    lines = [BEGIN, ""]
    if "smollm2" in docs:
        doc = docs["smollm2"]
        lines += intro(doc, "smollm2", " moved zero-shot onto other tokenizers")
        lines += hypernet_line(doc)
        lines += domain_tables(doc)
        lines += verdict(doc)
        copies = copy_table(doc)
        if copies:
            lines += [
                "Copy policy on the same passages: the hypernet copying SmolLM2's row for every "
                "target token SmolLM2 has (the default) vs predicting every row:",
                "",
                *copies,
                "",
            ]
        probe = probe_table(doc)
        if probe:
            p = doc["config"]["probe"]
            lines += [
                f"After {p['steps']} steps of {'embeddings-only ' if p['embeddings_only'] else ''}"
                f"training (batch {p['batch_size']} × {p['block_size']} tokens, AdamW lr {p['lr']}, "
                f"the same batches for every method, `zett.finetune.probe`), scored as above:",
                "",
                *probe,
                "",
            ]
        lines += protocol_change(doc)
    if "gemma3" in docs:
        doc = docs["gemma3"]
        lines += [
            f"**{model_name(doc)}** with the heuristics (`{COMMANDS['gemma3']}`; {setting(doc)}):",
            "",
        ]
        lines += domain_tables(doc)
    digits = digit_table(docs)
    if digits:
        lines += [
            "The arithmetic rows score synthetic equations (`zett.eval.arithmetic`, generated in "
            "code, the same passages for every tokenizer; under the in-domain heading because they "
            "are scored once). How each tokenizer cuts their numbers:",
            "",
            *digits,
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        print(f"README.md has no {BEGIN} … {END} block", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + block() + tail
    if args.check:
        return 0 if new == text else 1
    if new != text:
        tmp = readme.with_suffix(".md.tmp")
        tmp.write_text(new)
        tmp.replace(readme)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
