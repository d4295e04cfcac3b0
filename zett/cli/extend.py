"""Add tokens (e.g. <AUDIO_0..8191>) to a tokenizer and grow the checkpoint's embeddings and LM
head."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "src",
        help="HF model directory (config.json, *.safetensors, tokenizer.json), a tokenizer.json, a "
        "GGUF file (converted first) or a packaged alias (smollm2, gemma3, minilm, qwen2)",
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
        help="default average: the mean of the old rows (Hewitt 2021), measured to keep the new "
        "ids under 0.1%% of the probability on held-out text, where mvn took up to 7.4%% "
        "(experiments/extend/new_row_mass.json)",
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
    parser.add_argument(
        "--no-mass-report",
        action="store_true",
        help="skip running the written model on held-out passages to report the probability on "
        "the new ids and on padding (for models too big to run here)",
    )
    parser.add_argument(
        "--no-padding-calibration",
        action="store_true",
        help="padding rows get the mean row instead of a row calibrated by running the source model "
        "on held-out text (for models too big to run here; padding ids are suppressed in "
        "generation_config.json either way)",
    )


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
    from zett.extend.check import check_model_dir

    report = check_model_dir(src, tokens)
    for line in report.lines:
        print(line)
    for note in report.notes:
        _say(f"note: {note}")
    for p in report.problems:
        _say(f"problem: {p}")
    _say("check passed" if report.ok else f"check failed ({len(report.problems)} problems)")
    return 0 if report.ok else 1


def run(args: argparse.Namespace) -> int:
    from zett.assets import resolve
    from zett.extend.gguf_source import is_gguf

    src = Path(resolve(args.src))  # packaged aliases (smollm2, gemma3, minilm, qwen2)
    if not src.exists():
        raise FileNotFoundError(f"{args.src} does not exist")
    tokens = collect_tokens(args)
    if args.check:
        if is_gguf(src):
            raise ValueError(
                f"{src} is a GGUF file: --check takes a Hugging Face directory (`zett convert "
                f"{args.src} DIR` writes one)"
            )
        return _check(src, tokens)
    if not tokens:
        raise ValueError("no tokens to add: give --pattern/--count, --tokens or --tokens-file")
    if not args.dst and not args.dry_run:
        raise ValueError("an output directory is needed (or pass --dry-run)")
    if args.init == "hypernet" and (args.tokenizer_only or not args.hypernet):
        from zett.extend.init import HYPERNET_MESSAGE

        raise ValueError(HYPERNET_MESSAGE)
    if not is_gguf(src):
        return _extend(args, src, tokens)
    from zett.checkpoint import check_output_dir
    from zett.checkpoint.atomic import scratch_dir
    from zett.extend.gguf_source import gguf_as_hf_dir

    if args.dst:
        check_output_dir(args.dst, args.overwrite)  # before the conversion, not after
    what = "its tokenizer" if args.tokenizer_only else "it as a float32 Hugging Face directory"
    _say(f"{src} is a GGUF file: writing {what} first (as `zett convert` does)")
    # the converted copy is scratch, beside dst (same disk) or in the system's temp directory
    with scratch_dir(args.dst or Path(tempfile.gettempdir()) / "zett-extend") as tmp:
        gguf_as_hf_dir(src, tmp, tokenizer_only=args.tokenizer_only)
        return _extend(args, tmp, tokens, label=src)


def _extend(args: argparse.Namespace, src: Path, tokens: list[str], label: Path | None = None):
    from zett.extend.init import InitSpec
    from zett.extend.pipeline import plan_for_dir, run_extension

    tokenizer_only = args.tokenizer_only or src.is_file()
    if args.init == "hypernet" and tokenizer_only:
        from zett.extend.init import HYPERNET_MESSAGE

        raise ValueError(HYPERNET_MESSAGE)
    plan, tok = plan_for_dir(
        src, tokens, args.segment, args.special, args.pad_to_multiple, tokenizer_only
    )
    print(plan.describe())
    if args.dry_run:
        return 0
    special_ids = _special_ids(tok, args.init_tokens) if args.init == "special_tokens" else ()
    spec = InitSpec(
        args.init,
        seed=args.seed,
        noise=args.noise,
        special_ids=special_ids,
        mvn_scale=args.mvn_scale,
        hypernet=args.hypernet,
    )
    summary = run_extension(
        src,
        Path(args.dst),
        plan,
        tok,
        spec,
        overwrite=args.overwrite,
        verify=not args.no_verify,
        mass=not args.no_mass_report,
        calibrate_padding=not args.no_padding_calibration,
    )
    if label is not None:
        summary["source"] = str(label)
    verify = summary.get("verify", {})
    for p in verify.get("problems", []):
        _say(f"verify: {p}")
    if not summary.get("padding", {"calibrated": True})["calibrated"]:
        _say(f"padding rows got the mean row: {summary['padding']['reason']}")
    line = summary.pop("mass_line", None)
    print(json.dumps({k: v for k, v in summary.items() if k != "layout"}, indent=2))
    if line is not None:
        _say(f"probability on held-out text: {line}")
    _say(f"wrote {args.dst}: {len(tokens)} tokens, vocabulary {plan.new_layout.size}")
    return 0 if verify.get("ok", True) else 1
