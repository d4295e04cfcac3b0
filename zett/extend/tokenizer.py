"""Adding tokens to a `tokenizers` tokenizer at ids chosen by a `VocabLayout`, saving and verifying
it."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from zett.checkpoint.atomic import atomic_path, write_atomic
from zett.extend.layout import IdMapping

# files of an HF tokenizer directory that are copied alongside tokenizer.json
TOKENIZER_SIDE_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "chat_template.jinja",
    "tokenizer.model",  # SentencePiece (Gemma): transformers' slow tokenizer reads it
)


class TokenizerExtensionError(ValueError):
    """New tokens clash with the vocabulary, or the saved tokenizer does not encode them as planned."""


def expand_pattern(pattern: str, count: int, start: int = 0) -> list[str]:
    """`expand_pattern("<AUDIO_{i}>", 8192)` → `["<AUDIO_0>", ..., "<AUDIO_8191>"]`."""
    if "{i}" not in pattern:
        raise ValueError(f"pattern {pattern!r} must contain '{{i}}' where the index goes")
    if count <= 0:
        raise ValueError(f"token count must be positive, got {count}")
    return [pattern.replace("{i}", str(i)) for i in range(start, start + count)]


def load_tokenizer(path: str | Path) -> Tokenizer:
    """A `tokenizers.Tokenizer` from a tokenizer.json file or an HF directory holding one."""
    p = Path(path)
    f = p / "tokenizer.json" if p.is_dir() else p
    if not f.is_file():
        raise FileNotFoundError(
            f"{f}: no tokenizer.json (zett extend needs a `tokenizers` tokenizer; convert "
            f"SentencePiece "
            "models with transformers' `convert_slow_tokenizer` first)"
        )
    try:
        return Tokenizer.from_file(str(f))
    except Exception as e:  # tokenizers raises a bare Exception on malformed files
        raise TokenizerExtensionError(f"{f}: cannot load tokenizer: {e}") from None


def _remap_post_processor(pp: Any, mapping: IdMapping) -> None:
    if not isinstance(pp, dict):
        return
    for proc in pp.get("processors", []) or []:
        _remap_post_processor(proc, mapping)
    for spec in (pp.get("special_tokens") or {}).values():
        spec["ids"] = [int(mapping(i)) for i in spec["ids"]]
    for key in ("sep", "cls"):
        if isinstance(pp.get(key), list) and len(pp[key]) == 2:
            pp[key][1] = int(mapping(pp[key][1]))


def remap_tokenizer_json(tok: dict, mapping: IdMapping) -> dict:
    """Moves every id of a tokenizer.json dict through `mapping` (model vocab, added tokens,
    processors)."""
    tok = json.loads(json.dumps(tok))
    model = tok["model"]
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        model["vocab"] = {t: int(mapping(i)) for t, i in vocab.items()}
    elif isinstance(vocab, list):  # Unigram: the list position is the id, so it cannot move
        n = len(vocab)
        if not np.array_equal(mapping.old_to_new[:n], np.arange(n)):
            raise TokenizerExtensionError(
                f"{model.get('type')} model ids [0, {n}) cannot be moved by a re-layout"
            )
    for t in tok.get("added_tokens", []):
        t["id"] = int(mapping(t["id"]))
    _remap_post_processor(tok.get("post_processor"), mapping)
    if isinstance(tok.get("padding"), dict) and "pad_id" in tok["padding"]:
        tok["padding"]["pad_id"] = int(mapping(tok["padding"]["pad_id"]))
    return tok


def add_tokens(
    tokenizer: Tokenizer,
    tokens: Sequence[str],
    ids: Sequence[int] | np.ndarray,
    special: bool = False,
    mapping: IdMapping | None = None,
) -> Tokenizer:
    """A new tokenizer with `tokens` added at `ids` (old ids moved by `mapping` first, if given).

    Special tokens are matched verbatim and skipped when decoding with `skip_special_tokens`;
    regular tokens are matched in normalised text and decode to their text."""
    ids = [int(i) for i in ids]
    if len(ids) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(ids)} ids")
    seen: set[str] = set()
    dups = [t for t in tokens if t in seen or seen.add(t)]
    if dups:
        raise TokenizerExtensionError(f"tokens given twice: {dups[:5]}")
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    clash = [t for t in tokens if t in vocab]
    if clash:
        raise TokenizerExtensionError(
            f"{len(clash)} token(s) already in the vocabulary, e.g. {clash[0]!r} (id "
            f"{vocab[clash[0]]})"
        )
    tok = json.loads(tokenizer.to_str())
    if mapping is not None and not mapping.is_identity_prefix:
        tok = remap_tokenizer_json(tok, mapping)
    added = tok.setdefault("added_tokens", [])
    for t, i in zip(tokens, ids):
        added.append(
            {
                "id": i,
                "content": t,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": not special,
                "special": special,
            }
        )
    # tokenizers assigns ids to added tokens outside the model vocabulary in file order, so order by
    # id
    added.sort(key=lambda t: t["id"])
    new = Tokenizer.from_str(json.dumps(tok))
    got = [new.token_to_id(t) for t in tokens]
    wrong = [(t, i, g) for t, i, g in zip(tokens, ids, got) if i != g]
    if wrong:
        t, i, g = wrong[0]
        raise TokenizerExtensionError(
            f"{len(wrong)} token(s) did not land on their planned id, e.g. {t!r}: planned {i}, got "
            f"{g} "
            "(ids of added tokens must follow the existing vocabulary without gaps)"
        )
    return new


@dataclass(frozen=True)
class VerifyReport:
    """What `verify_tokenizer` checked; `problems` is empty when everything held."""

    n_tokens: int
    backends: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _encoders(tok_dir: Path) -> dict[str, Any]:
    raw = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    raw.no_padding()  # a saved fixed-length padding (BERT: 128) would hide what the ids are
    raw.no_truncation()
    encs: dict[str, Any] = {"tokenizers": raw}
    try:
        from transformers import AutoTokenizer, PreTrainedTokenizerFast
    except ImportError:  # transformers is optional at run time
        return encs
    if (tok_dir / "tokenizer_config.json").is_file():
        encs["transformers"] = AutoTokenizer.from_pretrained(str(tok_dir))
    else:  # a bare tokenizer.json: no config to dispatch on
        encs["transformers"] = PreTrainedTokenizerFast(
            tokenizer_file=str(tok_dir / "tokenizer.json")
        )
    return encs


def verify_tokenizer(
    tok_dir: str | Path,
    tokens: Sequence[str],
    ids: Sequence[int],
    original: Tokenizer | None = None,
    mapping: IdMapping | None = None,
    context: tuple[str, str] = ("Hello", " world"),
    max_problems: int = 20,
) -> VerifyReport:
    """Loads the saved tokenizer with `tokenizers` (and `transformers` when installed) and checks that
    each new token encodes to exactly its id, alone and between `context` text, and that the
    original vocabulary still maps each token to its (remapped) id."""
    tok_dir = Path(tok_dir)
    problems: list[str] = []
    encs = _encoders(tok_dir)
    tokens, ids = list(tokens), [int(i) for i in ids]
    in_ctx = [context[0] + t + context[1] for t in tokens]
    for name, enc in encs.items():
        if name == "tokenizers":  # batched: 8192 audio codes verify in seconds
            alone_all = [e.ids for e in enc.encode_batch(tokens, add_special_tokens=False)]
            ctx_all = [e.ids for e in enc.encode_batch(in_ctx, add_special_tokens=False)]
            tids = [enc.token_to_id(t) for t in tokens]
        else:
            alone_all = enc(tokens, add_special_tokens=False)["input_ids"]
            ctx_all = enc(in_ctx, add_special_tokens=False)["input_ids"]
            tids = enc.convert_tokens_to_ids(tokens)
        for t, i, tid, alone, ctx in zip(tokens, ids, tids, alone_all, ctx_all):
            alone, ctx = alone[:8], ctx[:16]  # keep messages short
            if tid != i:
                problems.append(f"{name}: token {t!r} has id {tid}, expected {i}")
            elif alone != [i]:
                problems.append(f"{name}: {t!r} alone encodes to {alone}, expected [{i}]")
            elif ctx.count(i) != 1:
                problems.append(f"{name}: {t!r} in context encodes to {ctx}, expected {i} once")
            if len(problems) >= max_problems:
                break
    if original is not None:
        new = encs["tokenizers"]
        for t, i in original.get_vocab(with_added_tokens=True).items():
            want = int(mapping(i)) if mapping is not None else i
            if new.token_to_id(t) != want:
                problems.append(f"original token {t!r} moved from {want} to {new.token_to_id(t)}")
                if len(problems) >= max_problems:
                    break
    return VerifyReport(len(tokens), tuple(encs), tuple(problems))


def _update_tokenizer_config(
    cfg: dict, tokens: Sequence[str], ids: Sequence[int], special: bool, mapping: IdMapping | None
) -> dict:
    dec = cfg.get("added_tokens_decoder")
    if isinstance(dec, dict):
        new_dec = {}
        for k, v in dec.items():
            new_dec[str(int(mapping(int(k))) if mapping is not None else int(k))] = v
        for t, i in zip(tokens, ids):
            new_dec[str(i)] = {
                "content": t,
                "lstrip": False,
                "normalized": not special,
                "rstrip": False,
                "single_word": False,
                "special": special,
            }
        cfg["added_tokens_decoder"] = dict(sorted(new_dec.items(), key=lambda kv: int(kv[0])))
    if special:
        _list_special(cfg, tokens)
    return cfg


def _list_special(cfg: dict, tokens: Sequence[str]) -> None:
    """Lists `tokens` among the extra special tokens, so that transformers' `all_special_tokens`
    (and `skip_special_tokens`) know them; transformers 5 reads the v4 key
    `additional_special_tokens` too, so that one is written unless the file uses v5's list."""
    key = (
        "extra_special_tokens"
        if isinstance(cfg.get("extra_special_tokens"), list)
        else "additional_special_tokens"
    )
    have = [t if isinstance(t, str) else t.get("content") for t in cfg.get(key) or []]
    known = set(have)
    cfg[key] = have + [t for t in tokens if t not in known]


def save_tokenizer(
    tokenizer: Tokenizer,
    out_dir: str | Path,
    source_dir: str | Path | None = None,
    tokens: Sequence[str] = (),
    ids: Sequence[int] = (),
    special: bool = False,
    mapping: IdMapping | None = None,
) -> list[Path]:
    """Writes tokenizer.json (+ the side files of `source_dir`, with their added-token tables and
    special-token lists updated) into `out_dir`, each file temp-then-rename."""
    out_dir = Path(out_dir)
    with atomic_path(out_dir / "tokenizer.json") as tmp:
        tokenizer.save(str(tmp))
    written = [out_dir / "tokenizer.json"]
    if source_dir is not None and Path(source_dir).is_dir():
        for name in TOKENIZER_SIDE_FILES:
            src = Path(source_dir) / name
            if not src.is_file():
                continue
            if name == "tokenizer_config.json":
                cfg = json.loads(src.read_text())
                cfg = _update_tokenizer_config(cfg, tokens, ids, special, mapping)
                write_atomic(out_dir / name, json.dumps(cfg, indent=2, ensure_ascii=False))
            elif name == "special_tokens_map.json" and special:
                cfg = json.loads(src.read_text())
                if isinstance(cfg.get("additional_special_tokens"), list):
                    _list_special(cfg, tokens)
                write_atomic(out_dir / name, json.dumps(cfg, indent=2, ensure_ascii=False))
            else:
                with atomic_path(out_dir / name) as tmp:
                    shutil.copyfile(src, tmp)  # mode from the umask, not the source
            written.append(out_dir / name)
    return written


_RANGE = re.compile(r"^(.*)\{(\d+)\.\.(\d+)\}(.*)$")


def parse_token_spec(spec: str) -> list[str]:
    """`"<AUDIO_{0..8191}>"` → 8192 tokens (inclusive range); anything else → `[spec]`."""
    m = _RANGE.match(spec)
    if not m:
        return [spec]
    pre, lo, hi, post = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    if hi < lo:
        raise ValueError(f"empty range in token spec {spec!r}")
    return [f"{pre}{i}{post}" for i in range(lo, hi + 1)]
