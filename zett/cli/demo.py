"""The main job: move SmolLM2 onto a new tokenizer zero-shot (hypernetwork vs FVT/FOCUS) and
compare."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default="smollm2", help="base model: alias (smollm2), GGUF, HF dir or hub id"
    )
    parser.add_argument(
        "--lang", default="de", help="language of the packaged Bible text to train/evaluate on"
    )
    parser.add_argument(
        "--tokenizer",
        default=None,
        help="target tokenizer (default: Unigram trained on --lang text)",
    )
    parser.add_argument(
        "--vocab-size", type=int, default=16000, help="size of the trained Unigram tokenizer"
    )
    parser.add_argument(
        "--text",
        default=None,
        help="your own text file (one document per line) instead of the Bible",
    )
    parser.add_argument(
        "--methods",
        default="hypernet,fvt,focus",
        help="comma-separated zett.methods specs (key=value items belong to the method before "
        "them); a bare hypernet is --hypernet",
    )
    parser.add_argument(
        "--hypernet", default=None, help="hypernetwork directory (default: the shipped SmolLM2 one)"
    )
    parser.add_argument("--texts", type=int, default=24, help="held-out texts to score")
    parser.add_argument(
        "--max-new-tokens", type=int, default=24, help="tokens of the sample generation (0: none)"
    )


def run(args: argparse.Namespace) -> int:

    # imported on use, not at the top: they load JAX, and `zett --help` imports this module
    from zett.demo import SHIPPED_HYPERNET, DemoConfig, run_demo
    from zett.methods import split_methods

    console = Console()
    cfg = DemoConfig(
        model=args.model,
        lang=args.lang,
        tokenizer=args.tokenizer,
        vocab_size=args.vocab_size,
        methods=tuple(split_methods(args.methods)),
        hypernet=args.hypernet or str(SHIPPED_HYPERNET),
        text_file=args.text,
        heldout_texts=args.texts,
        max_new_tokens=args.max_new_tokens,
    )
    with console.status("zett demo: working …"):
        result = run_demo(cfg, log=console.print)
    ref = result.rows[0]
    table = Table(title=f"{cfg.model} on held-out {cfg.lang} text: zero-shot tokenizer transfer")
    for col in ("method", "tokenizer", "bits/byte", "vs original", "bytes/token"):
        table.add_column(col, justify="left" if col in ("method", "tokenizer") else "right")
    for row in result.rows:
        table.add_row(
            row.method,
            row.tokenizer,
            f"{row.bits_per_byte:.3f}",
            f"{row.bits_per_byte / ref.bits_per_byte:.2f}×",
            f"{row.bytes_per_token:.2f}",
        )
    console.print(table)
    console.print(
        "lower bits/byte is better; more bytes/token means the new tokenizer compresses the text "
        "better"
    )
    for method, text in result.generations.items():
        console.print(f"[bold]greedy continuation ({method}, new tokenizer):[/bold] {text}")
    return 0
