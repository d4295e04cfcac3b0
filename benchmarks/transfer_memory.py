"""Peak RSS and wall time of `zett transfer` (fvt) on a synthetic large-vocabulary Llama, relative to
its embedding tables.

The source checkpoint is a random Llama (vocab 256,000 x hidden 1024 by default, a few layers so the
streamed-through tensors are sizeable) whose first 49,152 ids carry SmolLM2's tokenizer (the rest
are padding rows); the target is Gemma-3's 262,144-token SentencePiece tokenizer. The transfer runs
in a child process; its peak RSS is the VmHWM it reports itself (that process only) and is compared
with the old + new embedding matrices, the target being <= 2x. Also measured: a child that only
imports zett and loads the two tokenizers (the fixed overhead). Writes
benchmarks/results/transfer_memory.json."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build_source(d: Path, vocab: int, hidden: int, layers: int, inter: int, tied: bool) -> int:
    """Writes the synthetic checkpoint tensor by tensor (never the whole model in memory); returns its
    bytes."""
    from zett import assets
    from zett.checkpoint import TensorSource, read_gguf, write_sharded

    heads, kv, head_dim = hidden // 64, max(1, hidden // 256), 64
    shapes = {"model.embed_tokens.weight": (vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes |= {
            p + "self_attn.q_proj.weight": (heads * head_dim, hidden),
            p + "self_attn.k_proj.weight": (kv * head_dim, hidden),
            p + "self_attn.v_proj.weight": (kv * head_dim, hidden),
            p + "self_attn.o_proj.weight": (hidden, heads * head_dim),
            p + "mlp.gate_proj.weight": (inter, hidden),
            p + "mlp.up_proj.weight": (inter, hidden),
            p + "mlp.down_proj.weight": (hidden, inter),
            p + "input_layernorm.weight": (hidden,),
            p + "post_attention_layernorm.weight": (hidden,),
        }
    shapes["model.norm.weight"] = (hidden,)
    if not tied:
        shapes["lm_head.weight"] = (vocab, hidden)

    def gen(shape, seed):
        return lambda: np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) * 0.02

    tensors = [TensorSource(n, "F32", s, gen(s, i)) for i, (n, s) in enumerate(shapes.items())]
    write_sharded(d, tensors, 5 * 2**30)
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "head_dim": head_dim,
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": tied,
        "hidden_act": "silu",
        "torch_dtype": "float32",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    (d / "config.json").write_text(json.dumps(cfg, indent=2))
    read_gguf(assets.smollm2_gguf(), tensors=False).save_tokenizer(d)
    return sum(int(np.prod(s)) * 4 for s in shapes.values())


CHILD_TRANSFER = (
    """
import sys
from zett.transfer import TransferConfig, transfer
transfer(TransferConfig(model=sys.argv[1], tokenizer=sys.argv[2], out=sys.argv[3], method=sys.argv[4], progress=False))
"""
    + "print(open('/proc/self/status').read())\n"
)
CHILD_BASELINE = (
    """
import sys
import zett.heuristics, zett.transfer
from zett.tokenization import canonicalize, load_tokenizer
canonicalize(load_tokenizer(sys.argv[1])); canonicalize(load_tokenizer(sys.argv[2]))
"""
    + "print(open('/proc/self/status').read())\n"
)


def run_child(code: str, *args: str) -> tuple[float, float]:
    """(peak RSS in bytes of that child alone, wall seconds).

    The child reports its own VmHWM: `ru_maxrss` of a child also counts the parent's RSS at fork,
    and the parent held the synthetic checkpoint's tensors while writing them."""
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"child failed ({p.returncode}):\n{p.stderr[-4000:]}")
    hwm = next(line for line in p.stdout.splitlines() if line.startswith("VmHWM:"))
    return float(hwm.split()[1]) * 1024.0, wall  # kB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=256_000)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=4096)
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--method", default="fvt")
    ap.add_argument(
        "--target",
        default=None,
        help="target tokenizer (default: the Gemma-3 GGUF, 262,144 tokens)",
    )
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "transfer_memory.json"))
    args = ap.parse_args()

    from zett import assets
    from zett.tokenization import canonicalize, load_tokenizer

    target = args.target or str(assets.gemma3_gguf())
    work = Path(args.workdir or tempfile.mkdtemp(prefix="zett-transfer-bench-"))
    src, dst = work / "src", work / "dst"
    shutil.rmtree(work / "dst", ignore_errors=True)
    src.mkdir(parents=True, exist_ok=True)
    try:
        if not (src / "config.json").exists():
            ckpt_bytes = build_source(
                src, args.vocab, args.hidden, args.layers, args.intermediate, not args.untied
            )
        else:
            ckpt_bytes = sum(f.stat().st_size for f in src.glob("*.safetensors"))
        n_target = canonicalize(load_tokenizer(target)).size
        n_tables = 2 if args.untied else 1
        old_b = args.vocab * args.hidden * 4 * n_tables
        new_b = n_target * args.hidden * 4 * n_tables
        base_rss, base_wall = run_child(CHILD_BASELINE, str(src), target)
        rss, wall = run_child(CHILD_TRANSFER, str(src), target, str(dst), args.method)
        out_bytes = sum(f.stat().st_size for f in dst.glob("*.safetensors"))
        result = {
            "method": args.method,
            "source_vocab": args.vocab,
            "target_vocab": n_target,
            "hidden": args.hidden,
            "layers": args.layers,
            "tied": not args.untied,
            "checkpoint_bytes": ckpt_bytes,
            "output_bytes": out_bytes,
            "old_embeddings_bytes": old_b,
            "new_embeddings_bytes": new_b,
            "non_embedding_bytes": ckpt_bytes - old_b,
            "peak_rss_bytes": rss,
            "peak_rss_over_tables": rss / (old_b + new_b),
            "peak_rss_over_checkpoint": rss / ckpt_bytes,
            "baseline_rss_bytes": base_rss,
            "baseline_wall_s": base_wall,
            "peak_rss_minus_baseline_over_tables": (rss - base_rss) / (old_b + new_b),
            "wall_s": wall,
            "target_ratio": 2.0,
        }
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    gib = 2**30
    print(
        f"transfer {args.method}: {args.vocab} -> {n_target} ids, hidden {args.hidden}, checkpoint "
        f"{ckpt_bytes / gib:.2f} GiB"
    )
    print(
        f"  old + new embeddings {(old_b + new_b) / gib:.2f} GiB; peak RSS {rss / gib:.2f} GiB "
        f"= {result['peak_rss_over_tables']:.2f}x (target <= 2x); baseline (imports + tokenizers) "
        f"{base_rss / gib:.2f} GiB"
    )
    print(f"  wall {wall:.1f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
