"""Jitted zett decoder forward vs transformers (PyTorch CPU) on a SmolLM2-sized random model: tokens/s.

Both run the same weights (copied from the torch model through `weight_rules`), so the script also
reports how far the logits differ. Usage:
    python benchmarks/decoder_forward.py [--batch 4] [--seq 128] [--iters 5] [--dtype float32]
Writes benchmarks/results/decoder_forward.json."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import torch
import transformers
from flax import nnx
from machine import cpu_model

from zett.models import decoder, llama_hf
from zett.models.weights import assign_weights

# SmolLM2-135M's shape (llama architecture, tied embeddings).
SMOLLM2 = dict(
    vocab_size=49152,
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
    tie_word_embeddings=True,
)


def timed(fn, iters: int) -> list[float]:
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument(
        "--dtype", default="float32", help="compute dtype of both (zett params stay float32)"
    )
    ap.add_argument(
        "--torch-device", default="auto", help="auto: cuda when JAX runs on a GPU, else cpu"
    )
    ap.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "decoder_forward.json")
    )
    args = ap.parse_args()

    torch.manual_seed(0)
    hf_cfg = transformers.LlamaConfig(**SMOLLM2)
    ref = transformers.AutoModelForCausalLM.from_config(hf_cfg).eval()  # sdpa attention
    tensors = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    device = args.torch_device
    if device == "auto":
        device = "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"
    ref = ref.to(device=device, dtype=getattr(torch, args.dtype))

    cfg = llama_hf.from_hf_config(json.loads(hf_cfg.to_json_string())).replace(dtype=args.dtype)
    model = nnx.eval_shape(lambda: decoder.DecoderLM(cfg, rngs=nnx.Rngs(0)))
    assign_weights(model, tensors, llama_hf.weight_rules(cfg), ignore=llama_hf.ignored_tensors(cfg))
    graphdef, state = nnx.split(model)

    @jax.jit
    def forward(state, ids, mask):
        return nnx.merge(graphdef, state)(ids, attention_mask=mask).logits

    ids = np.random.default_rng(0).integers(0, SMOLLM2["vocab_size"], (args.batch, args.seq))
    mask = np.ones_like(ids)
    ids_j, mask_j = jnp.asarray(ids), jnp.asarray(mask)
    ids_t, mask_t = torch.tensor(ids, device=device), torch.tensor(mask, device=device)

    def torch_forward():
        out = ref(input_ids=ids_t, attention_mask=mask_t).logits
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    t = time.perf_counter()
    ours = np.asarray(forward(state, ids_j, mask_j))  # compile + first run
    compile_s = time.perf_counter() - t
    zett_times = timed(lambda: forward(state, ids_j, mask_j).block_until_ready(), args.iters)

    with torch.inference_mode():
        theirs = torch_forward().float().cpu().numpy()  # warm-up
        torch_times = timed(torch_forward, args.iters)

    tokens = args.batch * args.seq
    zett_tps = tokens / float(np.median(zett_times))
    torch_tps = tokens / float(np.median(torch_times))
    result = {
        "benchmark": "decoder_forward",
        "config": {k: v for k, v in SMOLLM2.items() if k != "rope_parameters"},
        "batch": args.batch,
        "seq": args.seq,
        "iters": args.iters,
        "zett_dtype": args.dtype,
        "zett_tokens_per_s": zett_tps,
        "torch_tokens_per_s": torch_tps,
        "ratio_zett_over_torch": zett_tps / torch_tps,
        "zett_median_s": float(np.median(zett_times)),
        "torch_median_s": float(np.median(torch_times)),
        "zett_compile_s": compile_s,
        "max_abs_logit_diff": float(np.abs(ours.astype(np.float32) - theirs).max()),
        "logit_scale": float(np.abs(theirs).max()),
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "torch": torch.__version__,
        "torch_device": device,
        "torch_threads": torch.get_num_threads(),
        "jax_device": str(jax.devices()[0]),
        "cpu": cpu_model(),
        "load_average_1m": os.getloadavg()[0],
    }
    print(
        f"batch {args.batch} x seq {args.seq} ({args.dtype}): zett {zett_tps:,.0f} tok/s on "
        f"{jax.devices()[0]}, "
        f"torch {torch_tps:,.0f} tok/s on {device}, "
        f"ratio {result['ratio_zett_over_torch']:.2f}; compile {compile_s:.1f}s; "
        f"max |Δlogit| {result['max_abs_logit_diff']:.2e} (scale {result['logit_scale']:.2f}); "
        f"load {result['load_average_1m']:.1f}"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
