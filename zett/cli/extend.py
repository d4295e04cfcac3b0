"""Add tokens (e.g. <AUDIO_0..8191>) to a tokenizer and grow the checkpoint's embeddings and LM
head."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from zett.checkpoint import tensor_shapes, vocab_tensors

# zett.extend loads JAX: its names are imported inside the functions that use them, because
# `zett --help` imports every command module


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "src",
        help="HF model directory (config.json, *.safetensors, tokenizer.json) or a tokenizer.json",
    )
    parser.add_argument(
        "dst", nargs="?", help="output directory (written to a temp dir beside it, then renamed)"
    )
    tok = parser.add_argument_group("tokens to add (combine freely; order is id order)")
    tok.add_argument("--pattern", help="token pattern with {i}, e.g. '<AUDIO_{i}>' (with --count)")
    tok.add_argument("--count", type=int, help="number of tokens generated from --pattern")
    tok.add_argument("--start", type=int, default=0, help="first index for --pattern (default 0)")
    tok.add_argument(
        "--tokens", nargs="+", default=[], help="tokens; '<V_{0..9}>' expands to an inclusive range"
    )
    tok.add_argument("--tokens-file", help="file with one token per line")
    tok.add_argument(
        "--special",
        action="store_true",
        help="add as special tokens (matched verbatim, skipped when decoding)",
    )
    lay = parser.add_argument_group("layout")
    lay.add_argument(
        "--segment",
        default="text",
        help="segment the tokens join: an existing one grows (later "
        "ranges shift), a new name (e.g. audio) is added after the last one (default: text)",
    )
    lay.add_argument(
        "--pad-to-multiple",
        type=int,
        default=None,
        help="pad the vocabulary to a multiple (64, 128)",
    )
    ini = parser.add_argument_group("initialisation of new rows")
    ini.add_argument(
        "--init",
        default="average",
        choices=("average", "special_tokens", "random", "mvn", "fvt", "hypernet"),
    )
    ini.add_argument(
        "--init-tokens",
        nargs="+",
        default=[],
        help="for --init special_tokens: tokens (or ids) to average",
    )
    ini.add_argument(
        "--noise",
        type=float,
        default=0.01,
        help="noise std relative to the rows' per-dim std (average, special_tokens)",
    )
    ini.add_argument("--mvn-scale", type=float, default=1.0, help="covariance scale for --init mvn")
    ini.add_argument(
        "--hypernet", default=None, help="for --init hypernet: the trained hypernetwork directory"
    )
    ini.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tokenizer-only", action="store_true", help="extend the tokenizer only (no checkpoint)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the old and new layout and write nothing"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify src: layout consistent with tokenizer and checkpoint; given tokens encode as "
        "single ids",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip re-loading the saved tokenizer to check the new ids",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace dst if it exists and is not empty"
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def _say(msg: str) -> None:
    print(f"zett extend: {msg}", file=sys.stderr, flush=True)


def collect_tokens(args: argparse.Namespace) -> list[str]:
    from zett.extend.tokenizer import expand_pattern, parse_token_spec

    tokens: list[str] = []
    if args.pattern is not None or args.count is not None:
        if args.pattern is None or args.count is None:
            raise ValueError("--pattern and --count go together")
        tokens += expand_pattern(args.pattern, args.count, args.start)
    for spec in args.tokens:
        tokens += parse_token_spec(spec)
    if args.tokens_file:
        lines = Path(args.tokens_file).read_text(encoding="utf-8").splitlines()
        tokens += [line for line in lines if line.strip()]
    return tokens


def _special_ids(tokenizer, specs: list[str]) -> tuple[int, ...]:
    ids = []
    for s in specs:
        i = int(s) if s.isdigit() else tokenizer.token_to_id(s)
        if i is None:
            raise ValueError(f"--init-tokens: {s!r} is not a token of the source tokenizer")
        ids.append(i)
    if not ids:
        raise ValueError(
            "--init special_tokens needs --init-tokens (e.g. --init-tokens '<|endoftext|>')"
        )
    return tuple(ids)


def _check(src: Path, tokens: list[str]) -> int:
    from zett.extend.hf_config import read_layout
    from zett.extend.pipeline import load_config, load_declared_layout, tokenizer_size
    from zett.extend.tokenizer import load_tokenizer, verify_tokenizer

    tok = load_tokenizer(src)
    n_tok = tokenizer_size(tok)
    config = load_config(src) if src.is_dir() else None
    problems: list[str] = []
    if config is not None:
        layout = read_layout(
            config,
            tokenizer_size=n_tok,
            where=str(src / "config.json"),
            declared=load_declared_layout(src),
        )
        print(layout.describe())
        if any(src.glob("*.safetensors")):
            shapes = tensor_shapes(src)
            found = vocab_tensors(shapes, layout.size)
            if not any(k == "input" for k in found.values()):
                emb = {n: s for n, s in shapes.items() if "emb" in n or "lm_head" in n}
                problems.append(f"size mismatch: no embedding tensor has {layout.size} rows: {emb}")
            else:
                print("vocabulary tensors: " + ", ".join(f"{n} {list(shapes[n])}" for n in found))
    if tokens:
        ids = [tok.token_to_id(t) for t in tokens]
        missing = [t for t, i in zip(tokens, ids) if i is None]
        if missing:
            problems.append(f"{len(missing)} token(s) not in the tokenizer, e.g. {missing[0]!r}")
        else:
            tok_dir = src if src.is_dir() else src.parent
            problems += verify_tokenizer(tok_dir, tokens, ids).problems
    for p in problems:
        _say(f"problem: {p}")
    _say("check passed" if not problems else f"check failed ({len(problems)} problems)")
    return 0 if not problems else 1


def run(args: argparse.Namespace) -> int:
    from zett.extend.init import HYPERNET_MESSAGE, InitSpec
    from zett.extend.pipeline import plan_for_dir, run_extension

    src = Path(args.src)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist")
    tokens = collect_tokens(args)
    if args.check:
        return _check(src, tokens)
    if not tokens:
        raise ValueError("no tokens to add: give --pattern/--count, --tokens or --tokens-file")
    tokenizer_only = args.tokenizer_only or src.is_file()
    plan, tok = plan_for_dir(
        src, tokens, args.segment, args.special, args.pad_to_multiple, tokenizer_only
    )
    print(plan.describe())
    if args.dry_run:
        return 0
    if not args.dst:
        raise ValueError("an output directory is needed (or pass --dry-run)")
    special_ids = _special_ids(tok, args.init_tokens) if args.init == "special_tokens" else ()
    spec = InitSpec(
        args.init,
        seed=args.seed,
        noise=args.noise,
        special_ids=special_ids,
        mvn_scale=args.mvn_scale,
        hypernet=args.hypernet,
    )
    if spec.method == "hypernet" and (tokenizer_only or not args.hypernet):
        raise ValueError(HYPERNET_MESSAGE)
    summary = run_extension(
        src, Path(args.dst), plan, tok, spec, overwrite=args.overwrite, verify=not args.no_verify
    )
    verify = summary.get("verify", {})
    for p in verify.get("problems", []):
        _say(f"verify: {p}")
    print(json.dumps({k: v for k, v in summary.items() if k != "layout"}, indent=2))
    _say(f"wrote {args.dst}: {len(tokens)} tokens, vocabulary {plan.new_layout.size}")
    return 0 if verify.get("ok", True) else 1
