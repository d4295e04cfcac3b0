"""Sample a noisy UnigramLM tokenizer from a text file and save it as tokenizer.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 2) when the text yields fewer tokens than asked; by default a warning",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing tokenizer.json"
    )


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from zett.checkpoint import atomic_path
    from zett.config import load_config
    from zett.sampling import SamplerConfig, TokenizerSampler, full_tokenizer, read_text_file
    from zett.tokenization import canonicalize, load_tokenizer

    overrides = list(args.overrides)
    if args.vocab_size is not None:
        overrides.append(f"vocab_size={args.vocab_size}")
    if args.no_noise:
        overrides.append("noise_median=0")
    config = load_config(SamplerConfig, args.config, overrides)
    if config.vocab_size < 1:
        raise ValueError(f"vocab_size must be positive, got {config.vocab_size}")
    if args.max_chars < 1:
        raise ValueError(f"--max-chars must be positive, got {args.max_chars}")
    if args.max_texts is not None and args.max_texts < 1:
        raise ValueError(f"--max-texts must be positive, got {args.max_texts}")
    out = Path(args.out)
    path = out if out.suffix == ".json" else out / "tokenizer.json"
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give a .json path or a directory")
    if path.exists() and not args.overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")

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
    asked = config.vocab_size if config.vocab_size_dist == "fixed" else None
    if asked is not None and vocab.size < asked:
        msg = (
            f"{args.text} yields only {vocab.size} distinct tokens of the {asked} asked "
            f"(every substring of its text is in the vocabulary); give more text or a smaller "
            f"--vocab-size"
        )
        if args.strict:
            raise ValueError(msg)
        print(f"zett sample: warning: {msg}", file=sys.stderr)
    tok = full_tokenizer(vocab, base.tokenizer if base else None)

    with atomic_path(path) as tmp:
        tok.save(str(tmp))

    n_bytes = sum(len(d.encode("utf-8")) for d in docs)
    n_tokens = sum(len(e.ids) for e in tok.encode_batch(docs, add_special_tokens=False))
    print(f"wrote {path}")
    print(
        f"vocabulary size: {vocab.size} of {asked or 'a drawn size'} asked "
        f"({len(vocab.specials)} special tokens, sigma {vocab.sigma:.3g})"
    )
    print(
        f"bytes per token: {n_bytes / max(n_tokens, 1):.3f} ({n_bytes} bytes, {n_tokens} tokens, "
        f"{len(docs)} texts)"
    )
    sys.stdout.flush()
    return 0
