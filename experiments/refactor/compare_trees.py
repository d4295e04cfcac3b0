"""What the house refactor (issue 16) kept: run the same `zett convert / transfer / extend` commands
with an old checkout and with this one, and compare what they wrote by content — every tensor by
name, dtype, shape and bytes; config.json and generation_config.json as parsed JSON; tokenizer
files byte for byte. File bytes are not compared: since the writer became deterministic (metadata
and tensors in a fixed order) the same tensors sit at other offsets.

    git worktree add /tmp/old75 75454c5      # the recording before the refactor
    python experiments/refactor/compare_trees.py --old /tmp/old75

Only cases whose behaviour no later issue changed on purpose are run (check_outputs.py lists all):
the hypernet transfer changed with copy_overlap (issue 19), extend's padding rows with the mass
calibration (issue 18) and the bench with the protocol (issue 13). Writes compare_trees.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from check_outputs import REPO, runs  # the same commands as the byte-identity check

KEPT = ["convert-smollm2", "transfer-fvt-gguf", "transfer-fvt-hf", "transfer-mean-hf"]
KEPT += ["extend-fvt-text"]
JSON_FILES = {"config.json", "generation_config.json"}
SKIP = {"zett_provenance.json"}  # dates, paths and versions by design
# files changed on purpose after the recording, with the reason (reported, not counted as a break)
INTENDED = {
    "tokenizer.json": "written from the GGUF by zett's own GGUF tokenizer reader since issue 18 "
    "(any tokenizer kind); it encodes id-for-id as before on 1,806 held-out and OOD texts",
}


def _out_dir(argv: list[str]) -> Path:
    if "--out" in argv:
        return Path(argv[argv.index("--out") + 1])
    return Path(argv[2])


def _tensors(directory: Path) -> dict[str, tuple[str, tuple, bytes]]:
    """name → (dtype, shape, raw bytes), read from the safetensors header (bf16 needs no numpy type)."""
    out = {}
    for f in sorted(directory.glob("*.safetensors")):
        blob = f.read_bytes()
        (n,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8 : 8 + n])
        header.pop("__metadata__", None)
        for name, t in header.items():
            start, end = t["data_offsets"]
            out[name] = (t["dtype"], tuple(t["shape"]), blob[8 + n + start : 8 + n + end])
    return out


def compare(old: Path, new: Path) -> list[str]:
    """Differences between two output directories, by content (empty: the same)."""
    diffs = []
    a, b = _tensors(old), _tensors(new)
    if sorted(a) != sorted(b):
        diffs.append(f"tensor names differ: {sorted(set(a) ^ set(b))[:5]}")
    for name in sorted(set(a) & set(b)):
        if a[name] != b[name]:
            diffs.append(f"tensor {name}: {a[name][:2]} vs {b[name][:2]}")
    files = {p.name for p in old.iterdir() if p.is_file()} | {
        p.name for p in new.iterdir() if p.is_file()
    }
    for name in sorted(files - SKIP):
        if name.endswith(".safetensors") or name == "model.safetensors.index.json":
            continue  # compared above as tensors (their order and sharding offsets may differ)
        p, q = old / name, new / name
        if not (p.exists() and q.exists()):
            diffs.append(f"{name}: only in {'new' if q.exists() else 'old'}")
        elif name in JSON_FILES:
            if json.loads(p.read_text()) != json.loads(q.read_text()):
                diffs.append(f"{name}: parsed JSON differs")
        elif p.read_bytes() != q.read_bytes() and name not in INTENDED:
            diffs.append(f"{name}: bytes differ")
        elif p.read_bytes() != q.read_bytes():
            print(f"{old.name}/{name}: differs on purpose: {INTENDED[name]}")
    return diffs


def run_tree(tree: Path, tmp: Path) -> dict[str, Path]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    tmp.mkdir(parents=True)
    outs = {}
    for name, argv in runs(tmp).items():
        if name not in KEPT:
            continue
        r = subprocess.run(
            [sys.executable, "-m", "zett.cli.main", *argv],
            capture_output=True,
            text=True,
            cwd=tree,
            env=env,
        )
        if r.returncode != 0:
            raise SystemExit(f"{tree}: {name}: exit {r.returncode}\n{r.stderr[-2000:]}")
        outs[name] = _out_dir(argv)
        print(f"{tree}: {name} done", flush=True)
    return outs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="a checkout of the code before")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="zett-compare-trees-"))
    try:
        old = run_tree(args.old.resolve(), root / "old")
        new = run_tree(REPO, root / "new")
        result = {name: compare(old[name], new[name]) for name in KEPT}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    old_head = subprocess.run(
        ["git", "-C", str(args.old), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    record = {
        "old": old_head.stdout.strip(),
        "new": head.stdout.strip(),
        "cases": {k: v or "same content" for k, v in result.items()},
        "intended_differences": INTENDED,
    }
    (Path(__file__).parent / "compare_trees.json").write_text(json.dumps(record, indent=1) + "\n")
    for name, diffs in result.items():
        print(f"{name}: {'same content' if not diffs else '; '.join(diffs[:5])}")
    return 1 if any(result.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
