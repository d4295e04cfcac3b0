"""Probability on new ids and on padding after `zett extend`, per base model, extension and init.

Each cell runs the real pipeline (plan → write the checkpoint → load it in zett) and scores held-out
passages (corpus held-out units; the padding row is calibrated on train-split text): packaged
Bibles in English, German and Chinese, and standard-library code from the built corpus' held-out
split when `data/corpus` exists. Extensions: 8,192 audio codes (issue 18's case, `--pad-to-multiple
128`, no padding needed for SmolLM2, so 8,000 codes are added to force padding rows) and the
`--words` most frequent train-split Bible words (English + German) that the tokenizer splits into
several pieces (they occur in the held-out text, so the new rows are also read as inputs).

    PYTHONPATH=$PWD nice -n 10 python experiments/extend/new_row_mass.py --models smollm2 \
        --out experiments/extend/new_row_mass_smollm2.json
    PYTHONPATH=$PWD nice -n 10 python experiments/extend/new_row_mass.py --models gemma3 \
        --inits average mvn --out experiments/extend/new_row_mass_gemma3.json
    python experiments/extend/new_row_mass.py --table experiments/extend/new_row_mass_*.json
    # padding rows again with the final calibration (max-min step 0.5/√t; the runs above used 0.05)
    PYTHONPATH=$PWD nice -n 10 python experiments/extend/new_row_mass.py --models smollm2 gemma3 \
        --inits average --extensions audio_8000 --out experiments/extend/new_row_mass_padding.json
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import tempfile
import time
from pathlib import Path

from zett import assets
from zett.data.build import CorpusConfig, is_heldout
from zett.data.sources import bible
from zett.eval.heldout import select_passages
from zett.extend import InitSpec, plan_for_dir, run_extension
from zett.extend.mass import MASS_PASSAGES, heldout_passages, new_id_mass
from zett.extend.tokenizer import load_tokenizer
from zett.models import load_pretrained

INITS = {
    "average": InitSpec("average"),
    "mvn": InitSpec("mvn"),
    "mvn_scale_0.01": InitSpec("mvn", mvn_scale=0.01),
}


def texts() -> dict[str, list[str]]:
    out = heldout_passages(("en", "de", "zh"), MASS_PASSAGES)
    code = Path("data/corpus/heldout/py.jsonl")
    if code.is_file():
        records = [json.loads(line) for line in code.open()]
        out["py"] = [r["text"] for r in select_passages(records, MASS_PASSAGES, MASS_PASSAGES)]
    return out


def frequent_split_words(tokenizer, n: int, langs=("en", "de")) -> list[str]:
    """The n most frequent train-split Bible words in `langs` that `tokenizer` splits, with the
    leading space they carry inside a sentence."""
    config, counts = CorpusConfig(), collections.Counter()
    for lang in langs:
        for d in bible.iter_documents(lang):
            if not is_heldout(d.unit, config):
                counts.update(re.findall(r"\w{4,}", d.joiner.join(d.segments)))
    words = []
    for w, _ in counts.most_common():
        if len(tokenizer.encode(" " + w, add_special_tokens=False).ids) > 1:
            words.append(" " + w)
        if len(words) == n:
            break
    return words


def table(paths: list[str]) -> str:
    """README's rows: mean mass on new ids per language (padding: max probability, pad cells)."""
    lines = []
    for path in paths:
        for r in json.loads(Path(path).read_text())["rows"]:
            cells = []
            for lang in ("en", "de", "zh", "py"):
                m = r["mass"].get(lang)
                if m is None:
                    cells.append("–")
                    continue
                cell = f"{100 * m['new_total']['mean']:.2g}%"
                if "pad" in r["extension"]:
                    cell += f" (padding {m['padding']['max']:.0f})"
                cells.append(cell)
            lines.append(
                f"| {r['alias']} | {r['extension']} | {r['init']} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", nargs="+", help="print README's table rows from these JSON files")
    ap.add_argument("--models", nargs="+", default=["smollm2", "gemma3"])
    ap.add_argument("--words", type=int, default=256)
    ap.add_argument("--inits", nargs="+", default=list(INITS))
    ap.add_argument("--extensions", nargs="+", default=None, help="default: all")
    ap.add_argument("--out", required=False, default="experiments/extend/new_row_mass.json")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    held = texts()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for alias in args.models:
            src = Path(tmp) / alias
            from zett.cli.main import main as zett

            assert zett(["convert", alias, str(src)]) == 0
            words = frequent_split_words(load_tokenizer(src), args.words)
            extensions = {
                "audio_8192": dict(
                    tokens=[f"<AUDIO_{i}>" for i in range(8192)],
                    segment="audio",
                    special=True,
                    pad_to_multiple=None,
                ),
                "audio_8000_pad128": dict(
                    tokens=[f"<AUDIO_{i}>" for i in range(8000)],
                    segment="audio",
                    special=True,
                    pad_to_multiple=128,
                ),
                f"text_{len(words)}_words": dict(
                    tokens=words, segment="text", special=False, pad_to_multiple=None
                ),
            }
            for ext, kw in extensions.items():
                if args.extensions and not any(ext.startswith(e) for e in args.extensions):
                    continue
                for init in args.inits:
                    spec = INITS[init]
                    t = time.time()
                    plan, tok = plan_for_dir(
                        src, kw["tokens"], kw["segment"], kw["special"], kw["pad_to_multiple"]
                    )
                    out = Path(tmp) / "ext"
                    summary = run_extension(
                        src, out, plan, tok, spec, overwrite=True, verify=False, mass=False
                    )
                    report = new_id_mass(
                        load_pretrained(str(out)),
                        load_tokenizer(out),
                        held,
                        plan.new_layout,
                        plan.token_ids,
                        progress=False,
                    )
                    row = {
                        "model": assets.checkpoint_name(alias),
                        "alias": alias,
                        "extension": ext,
                        "init": init,
                        "mass": report.to_dict(),
                        "padding_row": summary.get("padding"),
                        "seconds": round(time.time() - t, 1),
                    }
                    rows.append(row)
                    print(alias, ext, init, report.line(), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"rows": rows, "tokens_per_passage": 128}, indent=1))


if __name__ == "__main__":
    main()
