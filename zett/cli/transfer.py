"""Move a checkpoint onto a new tokenizer (hypernetwork or heuristic), streamed into a Hugging Face
directory."""

from __future__ import annotations

import argparse

from zett.assets import resolve as resolve_alias


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="HF model directory, hub id, .gguf file or alias (smollm2, gemma3, minilm)",
    )
    parser.add_argument(
        "--tokenizer",
        required=True,
        help="target tokenizer: tokenizer.json, HF dir, SentencePiece .model, GGUF, vocab.txt or "
        "hub id",
    )
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--method",
        metavar="SPEC",
        help="NAME[:ARG][,key=value...], e.g. fvt, focus, hypernet:DIR,copy_overlap=true (an "
        "unknown name lists the valid ones)",
    )
    how.add_argument(
        "--hypernet",
        metavar="DIR",
        help="shorthand for --method hypernet:DIR (a zett hypernet trained for this base model)",
    )
    parser.add_argument(
        "--method-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the method, e.g. copy_overlap=false (repeatable)",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="output directory (written to a temp dir beside it, then renamed)",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "bfloat16", "float16"),
        default=None,
        help="dtype of the written floating tensors (default: as the source; float32 for GGUF)",
    )
    parser.add_argument(
        "--lang",
        default=None,
        help="language of the target text, for a hypernet trained with language embeddings "
        "(hypernet.json lists its languages)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--texts", help="for --method focus: a UTF-8 text file in the target language(s)"
    )
    parser.add_argument(
        "--donor", help="for donor methods: a model that already uses the target tokenizer"
    )
    parser.add_argument(
        "--max-shard-size", type=float, default=5.0, help="GiB per safetensors shard (default 5)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --out if it exists and is not empty"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    # imported on use, not at the top: they load JAX, and `zett --help` imports this module
    from zett.methods import parse_option_pairs
    from zett.transfer import TransferConfig, transfer

    if not 0 < args.max_shard_size < float("inf"):
        raise ValueError(
            f"--max-shard-size must be a positive number of GiB, got {args.max_shard_size}"
        )
    model = resolve_alias(args.model)
    cfg = TransferConfig(
        model=model,
        tokenizer=args.tokenizer,
        out=args.out,
        method=args.method,
        hypernet=args.hypernet,
        dtype=args.dtype,
        seed=args.seed,
        texts=args.texts,
        donor=args.donor,
        method_options=tuple(parse_option_pairs(args.method_opt).items()),
        lang=args.lang,
        overwrite=args.overwrite,
        max_shard_bytes=int(args.max_shard_size * 2**30),
        progress=not args.quiet,
    )
    out = transfer(cfg)
    print(out)
    return 0
