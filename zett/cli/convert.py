"""Convert a model (HF directory, hub id or GGUF file) into a Hugging Face directory zett and
transformers load."""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "src", help="model directory (config.json + safetensors), hub id, or .gguf file"
    )
    parser.add_argument(
        "dst", help="output directory (written to a temp dir beside it, then renamed)"
    )
    parser.add_argument(
        "--dtype", choices=("float32", "bfloat16"), default="float32", help="saved weight dtype"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace dst if it exists and is not empty"
    )


def _say(msg: str) -> None:
    print(f"zett convert: {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from zett import __version__
    from zett.checkpoint import check_output_dir
    from zett.cli.errors import about
    from zett.models import hf_io

    start = time.perf_counter()
    out = check_output_dir(args.dst, args.overwrite)  # fail before the (slow) read
    _say(f"reading {args.src}")
    with about(args.src):
        ckpt = hf_io.open_checkpoint(args.src)
        model = hf_io.model_from_checkpoint(ckpt, dtype=args.dtype)
    c = model.config
    n_params = hf_io.num_params(model)
    _say(
        f"loaded {c.family}: {c.num_hidden_layers} layers, hidden {c.hidden_size}, vocab "
        f"{c.vocab_size}, "
        f"{n_params / 1e6:.1f}M parameters ({time.perf_counter() - start:.1f}s)"
    )
    if ckpt.save_tokenizer is None:
        _say("the source has no tokenizer files; writing the model only")
    provenance = {"converted_from": str(args.src), "dtype": args.dtype, "zett_version": __version__}
    _say(f"writing {out} ({args.dtype})")
    hf_io.save_pretrained(model, out, ckpt.save_tokenizer, provenance, overwrite=args.overwrite)
    files = sorted(p.name for p in out.iterdir())
    _say(f"done in {time.perf_counter() - start:.1f}s: {', '.join(files)}")
    return 0
