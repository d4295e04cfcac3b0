"""`zett extend` on SmolLM2-135M: 8192 audio codes, wall time and peak RSS vs transformers' resize +
save.

Converts the packaged GGUF to an HF directory once (zett convert), then in fresh child processes (so
each peak RSS is its own) runs (a) `zett extend` (streaming safetensors rewrite + tokenizer +
verify) and (b) the reference: transformers `from_pretrained` →
`resize_token_embeddings(mean_resizing=True)` → `save_pretrained`. Checks that logits of
original-token inputs on real text are bit-identical after the extension. Prints the figures and
writes benchmarks/results/extend_checkpoint.json. Run: python benchmarks/extend_checkpoint.py
[--count 8192] [--init mvn]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model

REFERENCE = """
import sys, time, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
src, dst, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
tok = AutoTokenizer.from_pretrained(src)
tok.add_tokens([f"<AUDIO_{i}>" for i in range(count)], special_tokens=True)
model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
model.resize_token_embeddings(len(tok), pad_to_multiple_of=128, mean_resizing=True)
model.save_pretrained(dst)
tok.save_pretrained(dst)
print(time.perf_counter() - t)
"""


_WRAP = """
import json, resource, subprocess, sys
out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True)
print(json.dumps({"rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "stdout": out.stdout}))
"""


def _child(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, peak RSS MiB, stdout) of `cmd`, run under its own wrapper process so its peak is its
    own."""
    t = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", _WRAP, *cmd], check=True, capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    rep = json.loads(res.stdout.strip().splitlines()[-1])
    return wall, rep["rss_kib"] / 1024, rep["stdout"]


def _logits(d: Path, ids: list[int]):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(d), dtype=torch.float32).eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=8192)
    ap.add_argument("--init", default="mvn")
    ap.add_argument("--workdir", default=None, help="keep the converted/extended checkpoints here")
    ap.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "extend_checkpoint.json")
    )
    args = ap.parse_args()

    import zett.assets

    work = Path(args.workdir or tempfile.mkdtemp(prefix="zett-extend-bench-"))
    src = work / "smollm2"
    py = sys.executable
    if not (src / "model.safetensors").is_file():
        subprocess.run(
            [
                py,
                "-m",
                "zett.cli.main",
                "convert",
                str(zett.assets.smollm2_gguf()),
                str(src),
                "--overwrite",
            ],
            check=True,
            capture_output=True,
        )
    ckpt_mib = sum(p.stat().st_size for p in src.glob("*.safetensors")) / 2**20

    ref_wall, ref_rss, _ = _child(
        [py, "-c", REFERENCE, str(src), str(work / "reference"), str(args.count)]
    )
    zett_wall, zett_rss, stdout = _child(
        [
            py,
            "-m",
            "zett.cli.main",
            "extend",
            str(src),
            str(work / "extended"),
            "--pattern",
            "<AUDIO_{i}>",
            "--count",
            str(args.count),
            "--special",
            "--segment",
            "audio",
            "--pad-to-multiple",
            "128",
            "--init",
            args.init,
            "--overwrite",
        ]
    )
    summary = json.loads(stdout[stdout.index("{\n") :])
    nover_wall, nover_rss, _ = _child(
        [
            py,
            "-m",
            "zett.cli.main",
            "extend",
            str(src),
            str(work / "extended_noverify"),
            "--pattern",
            "<AUDIO_{i}>",
            "--count",
            str(args.count),
            "--special",
            "--segment",
            "audio",
            "--pad-to-multiple",
            "128",
            "--init",
            args.init,
            "--overwrite",
            "--no-verify",
        ]
    )

    import sqlite3

    from tokenizers import Tokenizer

    db = sqlite3.connect(str(zett.assets.bible_db()))
    bb = db.execute(
        "SELECT bbName FROM bible WHERE vText LIKE 'In the beginning%' LIMIT 1"
    ).fetchone()[0]
    rows = db.execute(
        "SELECT vText FROM bible WHERE bbName=? AND bNumber=1 AND cNumber=1 ORDER BY vNumber LIMIT "
        "8",
        (bb,),
    ).fetchall()
    text = " ".join(r[0] for r in rows)  # Genesis 1:1-8 in an English Bible
    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    ids = tok.encode(text).ids
    a, b = _logits(src, ids), _logits(work / "extended", ids)
    n = a.shape[-1]
    identical = bool((a == b[:, :n]).all())
    mixed = (
        Tokenizer.from_file(str(work / "extended" / "tokenizer.json"))
        .encode(text + "<AUDIO_0><AUDIO_8191>")
        .ids
    )

    result = {
        "model": "SmolLM2-135M-Instruct (GGUF Q4_1 → fp32 HF)",
        "checkpoint_mib": round(ckpt_mib, 1),
        "new_tokens": args.count,
        "init": args.init,
        "new_vocab": summary["tensors"]["model.embed_tokens.weight"]["new"][0],
        "zett_extend_wall_s": round(zett_wall, 2),
        "zett_extend_peak_rss_mib": round(zett_rss, 1),
        "zett_extend_no_verify_wall_s": round(nover_wall, 2),
        "zett_extend_no_verify_peak_rss_mib": round(nover_rss, 1),
        "embedding_mib_old_new": [
            round(v[0] * v[1] * 4 / 2**20, 1)
            for v in summary["tensors"]["model.embed_tokens.weight"].values()
        ],
        "transformers_resize_save_wall_s": round(ref_wall, 2),
        "transformers_resize_save_peak_rss_mib": round(ref_rss, 1),
        "wall_ratio_zett_over_transformers": round(zett_wall / ref_wall, 3),
        "wall_ratio_zett_no_verify_over_transformers": round(nover_wall / ref_wall, 3),
        "peak_rss_ratio_zett_over_transformers": round(zett_rss / ref_rss, 3),
        "verify_ok": summary["verify"]["ok"],
        "original_logits_bit_identical": identical,
        "audio_ids_in_mixed_text": mixed[-2:],
        "text_tokens": len(ids),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
    }
    for k, v in result.items():
        print(f"{k:40s} {v}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
