"""Byte-identity check for refactors: runs `zett transfer`, `zett extend` and `zett convert` on fixed
real inputs and compares the SHA-256 of every output file with `expected_outputs.json`.

    python experiments/refactor/check_outputs.py            # compare (exit 1 on any difference)
    python experiments/refactor/check_outputs.py --record   # rewrite the expectation (before a refactor)

The expectation was recorded on the code before the house refactor (issue 16); a refactor that keeps
behaviour must reproduce it byte for byte. ~3 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
UNIGRAM_DE = REPO / "experiments/bench/results/tokenizers/unigram-de-16000.json"
HYPERNET = REPO / "experiments/smollm2/hypernet"


def runs(tmp: Path) -> dict[str, list[str]]:
    hf = tmp / "smollm2-hf"
    return {
        "convert-smollm2": ["convert", "smollm2", str(hf)],
        "transfer-fvt-gguf": [
            "transfer",
            "--model",
            "smollm2",
            "--tokenizer",
            str(UNIGRAM_DE),
            "--method",
            "fvt",
            "--out",
            str(tmp / "fvt-gguf"),
            "--quiet",
        ],
        "transfer-fvt-hf": [
            "transfer",
            "--model",
            str(hf),
            "--tokenizer",
            str(UNIGRAM_DE),
            "--method",
            "fvt",
            "--out",
            str(tmp / "fvt-hf"),
            "--quiet",
            "--dtype",
            "bfloat16",
            "--max-shard-size",
            "0.05",
        ],
        "transfer-mean-hf": [
            "transfer",
            "--model",
            str(hf),
            "--tokenizer",
            "qwen2",
            "--method",
            "mean",
            "--out",
            str(tmp / "mean-hf"),
            "--quiet",
        ],
        "transfer-hypernet": [
            "transfer",
            "--model",
            "smollm2",
            "--tokenizer",
            str(UNIGRAM_DE),
            "--hypernet",
            str(HYPERNET),
            "--out",
            str(tmp / "hn"),
            "--quiet",
        ],
        "extend-audio": [
            "extend",
            str(hf),
            str(tmp / "audio"),
            "--pattern",
            "<AUDIO_{i}>",
            "--count",
            "512",
            "--special",
            "--segment",
            "audio",
            "--init",
            "mvn",
            "--pad-to-multiple",
            "64",
        ],
        "bench-tiny": ["bench", str(tmp / "bench.yaml"), "--no-progress"],
        "extend-fvt-text": [
            "extend",
            str(hf),
            str(tmp / "words"),
            "--tokens",
            " Zeitgeist",
            " Weltschmerz",
            "--init",
            "fvt",
        ],
    }


BENCH_CONFIG = """models: [smollm2]
tokenizers: [{tok}, qwen2]
languages: [de]
methods: [original, fvt, mean, hypernet:{hn}]
texts_per_language: 3
min_units: 3
corpus: {corpus}
output: {out}
plots: false
"""


_NEUTRAL = [(str(REPO), "<repo>")]  # paths recorded inside outputs, made neutral


def _neutral(text: str) -> bytes:
    for path, name in _NEUTRAL:
        text = text.replace(path, name)
    return text.encode()


def _content(path: Path) -> bytes:
    """File bytes; provenance records minus their date, with this checkout's path made neutral;
    bench cells minus their timings."""
    if path.name == "cells.jsonl":
        cells = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for c in cells:
            c.pop("seconds", None)
        return _neutral(json.dumps(cells, sort_keys=True))
    if path.name != "zett_provenance.json":
        return path.read_bytes()
    record = json.loads(path.read_text())
    record.pop("date", None)
    return _neutral(json.dumps(record, sort_keys=True))


def digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(_content(p)).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    expected_path = HERE / "expected_outputs.json"
    got: dict[str, dict[str, str]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="zett-refactor-check-"))
    _NEUTRAL.append((str(tmp), "<tmp>"))
    try:
        (tmp / "bench.yaml").write_text(
            BENCH_CONFIG.format(
                tok=UNIGRAM_DE, hn=HYPERNET, corpus=REPO / "data/corpus", out=tmp / "bench"
            )
        )
        for name, argv in runs(tmp).items():
            r = subprocess.run(
                [sys.executable, "-m", "zett.cli.main", *argv],
                capture_output=True,
                text=True,
                cwd=REPO,
            )
            if r.returncode != 0:
                print(f"{name}: exit {r.returncode}\n{r.stderr[-2000:]}")
                return 1
            out = (
                tmp / "bench"
                if name == "bench-tiny"
                else (
                    Path(argv[argv.index("--out") + 1])
                    if "--out" in argv
                    else Path(argv[2] if argv[0] in ("convert", "extend") else argv[-1])
                )
            )
            got[name] = digest(out)
            if name == "bench-tiny":  # tables and plots carry timings; the cells are the result
                got[name] = {"cells.jsonl": got[name]["cells.jsonl"]}
            print(f"{name}: {len(got[name])} files")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.record:
        expected_path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"recorded {expected_path}")
        return 0
    expected = json.loads(expected_path.read_text())
    bad = [
        f"{run}/{f}"
        for run in expected
        for f in set(expected[run]) | set(got.get(run, {}))
        if expected[run].get(f) != got.get(run, {}).get(f)
    ]
    for b in bad:
        print("DIFFERS:", b)
    print("byte-identical" if not bad else f"{len(bad)} files differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
