"""Sample a noisy UnigramLM tokenizer from a text file and save it as tokenizer.json."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from zett.config import load_config
from zett.tokenization import canonicalize, load_tokenizer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="UTF-8 text file to sample the vocabulary from")
    parser.add_argument(
        "out", help="output: a directory (tokenizer.json is written into it) or a .json path"
    )
    parser.add_argument(
        "--base",
        default=None,
        help="base tokenizer (tokenizer.json, HF dir, .gguf, ...) whose special tokens keep their "
        "ids "
        "and whose post-processor is kept",
    )
    parser.add_argument("--config", default=None, help="YAML file with a SamplerConfig")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="SamplerConfig override, e.g. --set vocab_size=16384 (repeatable)",
    )
    parser.add_argument(
        "--vocab-size", type=int, default=None, help="shortcut for --set vocab_size=N"
    )
    parser.add_argument(
        "--no-noise",
        action="store_true",
        help="σ = 0: the top substrings by plain frequency × length",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-chars",
        type=int,
        default=2048,
        help="texts are cut into documents of whole lines ≤ this",
    )
    parser.add_argument(
        "--max-texts",
        type=int,
        default=None,
        help="use a seeded random subset of this many documents",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def run(args: argparse.Namespace) -> int:
    # imported on use, not at the top: zett.sampling is slow to import, and `zett --help` imports
    # this module
    from zett.sampling import SamplerConfig, TokenizerSampler, full_tokenizer, read_text_file

    overrides = list(args.overrides)
    if args.vocab_size is not None:
        overrides.append(f"vocab_size={args.vocab_size}")
    if args.no_noise:
        overrides.append("noise_median=0")
    config = load_config(SamplerConfig, args.config, overrides)

    docs = read_text_file(args.text, args.max_chars)
    if args.max_texts is not None and len(docs) > args.max_texts:
        keep = np.sort(
            np.random.default_rng([args.seed, 3]).choice(len(docs), args.max_texts, replace=False)
        )
        docs = [docs[i] for i in keep]
    base = load_tokenizer(args.base) if args.base else None
    specials = canonicalize(base).specials if base else ()

    sampler = TokenizerSampler(config, specials)
    vocab = sampler(docs, np.random.default_rng(args.seed))
    tok = full_tokenizer(vocab, base.tokenizer if base else None)

    out = Path(args.out)
    path = out if out.suffix == ".json" else out / "tokenizer.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tokenizer.", suffix=".json", dir=path.parent)
    os.close(fd)
    try:
        tok.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

    n_bytes = sum(len(d.encode("utf-8")) for d in docs)
    n_tokens = sum(len(e.ids) for e in tok.encode_batch(docs, add_special_tokens=False))
    print(f"wrote {path}")
    print(
        f"vocabulary size: {vocab.size} ({len(vocab.specials)} special tokens, sigma "
        f"{vocab.sigma:.3g})"
    )
    print(
        f"bytes per token: {n_bytes / max(n_tokens, 1):.3f} ({n_bytes} bytes, {n_tokens} tokens, "
        f"{len(docs)} texts)"
    )
    sys.stdout.flush()
    return 0
