"""Corpus cards: what a built corpus holds, per language × source, rendered from its manifest."""

from __future__ import annotations

import yaml

from zett.data.build import SPLITS


def summary(manifest: dict) -> str:
    """A table of languages × splits (documents, passages, chars, MB) from a manifest."""
    lines = [
        f"{'lang':<5} {'script':<10} {'split':<8} {'docs':>7} {'passages':>9} {'chars':>11} "
        f"{'MB':>7}  sources"
    ]
    for lang, e in manifest["languages"].items():
        for split, s in e["splits"].items():
            srcs = ", ".join(f"{k} {v['chars'] / 1e6:.2f}M" for k, v in s["sources"].items())
            lines.append(
                f"{lang:<5} {e['script']:<10} {split:<8} {s['documents']:>7} {s['passages']:>9} "
                f"{s['chars']:>11,} {s['bytes'] / 1e6:>7.2f}  {srcs}"
            )
    t = manifest["totals"]
    sizes = ", ".join(f"{split} {t[split]['bytes'] / 1e6:.1f} MB" for split in SPLITS if split in t)
    missing = manifest.get("missing_languages") or []
    lines.append(
        f"{len(manifest['languages'])} languages, scripts: {', '.join(manifest['scripts'])}; "
        f"{sizes}; built in {manifest['wall_time_s']} s"
        + (f"; no text for: {', '.join(missing)}" if missing else "")
    )
    return "\n".join(lines)


def _cell(s: dict | None) -> str:
    return f"{s['chars']:,} / {s['passages']:,} / {s['documents']:,}" if s else "–"


def card(manifest: dict, title: str) -> str:
    """A Markdown corpus card: per split, characters / passages / documents for every language ×
    source, totals, the content hash and the config that rebuilds it."""
    sources = list(manifest["config"]["sources"])
    out = [
        f"# Corpus card: {title}",
        "",
        f"Purpose: **{manifest.get('purpose', 'train')}**. Content SHA-256 (`zett data build` "
        f"manifest): `{manifest.get('content_sha256', 'not recorded')}`.",
        "",
        "| source | role | genre |",
        "|---|---|---|",
    ]
    for name, info in (manifest.get("sources") or {s: {} for s in sources}).items():
        out.append(f"| {name} | {info.get('role', '')} | {info.get('genre', '')} |")
    for split in SPLITS:
        langs = {k: e for k, e in manifest["languages"].items() if split in e["splits"]}
        if not langs:
            continue
        out += [
            "",
            f"## Split `{split}`: characters / passages / documents",
            "",
            "| lang | script | " + " | ".join(sources) + " | total |",
            "|---|---|" + "---:|" * (len(sources) + 1),
        ]
        totals = {s: {"chars": 0, "passages": 0, "documents": 0} for s in [*sources, "all"]}
        for lang, e in langs.items():
            s = e["splits"][split]
            cells = [_cell(s["sources"].get(src)) for src in sources]
            out.append(f"| {lang} | {e['script']} | " + " | ".join(cells) + f" | {_cell(s)} |")
            for src in sources:
                for k in totals[src]:
                    totals[src][k] += s["sources"].get(src, {}).get(k, 0)
            for k in totals["all"]:
                totals["all"][k] += s[k]
        out.append(
            "| **all** | | "
            + " | ".join(_cell(totals[src]) for src in sources)
            + f" | {_cell(totals['all'])} |"
        )
    missing = manifest.get("missing_languages") or []
    if missing:
        out += ["", f"No text in these sources for: {', '.join(missing)}."]
    for source, debs in (manifest.get("debian_packages") or {}).items():
        out += [
            "",
            f"`{source}` Debian packages ({len(debs)}): " + ", ".join(f"`{d}`" for d in debs),
        ]
    skipped = manifest.get("skipped_packages") or []
    if skipped:
        out += ["", f"Packages that could not be fetched (skipped): {', '.join(skipped)}."]
    config = yaml.safe_dump(
        manifest["config"], sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    out += ["", "Config (`zett data build --config FILE`):", "", "```yaml", config.rstrip(), "```"]
    return "\n".join(out) + "\n"
