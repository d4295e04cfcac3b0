"""Loads any tokenizer (tokenizer.json, HF dir, SentencePiece .model, GGUF, WordPiece vocab.txt, hub
id) as a `tokenizers.Tokenizer`."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from zett.assets import resolve as resolve_alias

from .byte_alphabet import TokenizerError
from .gguf_models import sentencepiece_merges
from .gguf_tokenizer import GGUFTokenizer, tokenizer_from_gguf

_ROLE_KEYS = {
    "bos_token": "bos",
    "eos_token": "eos",
    "unk_token": "unk",
    "pad_token": "pad",
    "mask_token": "mask",
    "cls_token": "cls",
    "sep_token": "sep",
}


class LoadedTokenizer:
    """A tokenizer as `tokenizers.Tokenizer`, the special roles its files declare (role → text or id),
    and its origin.

    Built from a Tokenizer or from tokenizer.json text; the other form is made on first use (a
    262k-token BPE takes seconds either way, and canonicalisation needs only the JSON)."""

    def __init__(
        self,
        tokenizer: Tokenizer | None = None,
        roles: Mapping[str, str | int] | None = None,
        source: str = "<object>",
        *,
        text: str | None = None,
    ) -> None:
        if tokenizer is None and text is None:
            raise TokenizerError("LoadedTokenizer needs a tokenizer or its JSON text")
        self._tokenizer, self._text = tokenizer, text
        self.roles: dict[str, str | int] = dict(roles or {})
        self.source = source

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer.from_str(self._text)
        return self._tokenizer

    @cached_property
    def spec(self) -> dict[str, Any]:
        """The tokenizer.json document (parsed once)."""
        return json.loads(self._text if self._text is not None else self._tokenizer.to_str())

    def __repr__(self) -> str:
        return f"LoadedTokenizer({self.source!r})"


def load_tokenizer(src: Any) -> LoadedTokenizer:
    """Accepts a `tokenizers.Tokenizer`, a transformers fast tokenizer, a `SentencePieceProcessor`, a
    path or a hub id."""
    if isinstance(src, LoadedTokenizer):
        return src
    if isinstance(src, Tokenizer):
        return LoadedTokenizer(src)
    backend = getattr(src, "backend_tokenizer", None)
    if isinstance(backend, Tokenizer):  # transformers PreTrainedTokenizerFast
        roles = {r: getattr(src, k, None) for k, r in _ROLE_KEYS.items()}
        return LoadedTokenizer(
            backend,
            {r: str(v) for r, v in roles.items() if v},
            getattr(src, "name_or_path", "<transformers>"),
        )
    if type(src).__name__ == "SentencePieceProcessor":
        return _from_sentencepiece(src.serialized_model_proto(), "<SentencePieceProcessor>")
    if isinstance(src, (str, os.PathLike)):
        src = resolve_alias(str(src))  # packaged-model aliases: smollm2, gemma3, minilm
        path = Path(src).expanduser()
        if path.exists():
            return _from_path(path)
        return _from_hub(str(src))
    raise TokenizerError(f"cannot load a tokenizer from a {type(src).__name__}")


def _from_path(path: Path) -> LoadedTokenizer:
    if path.is_dir():
        for name in (
            "tokenizer.json",
            "tokenizer.model",
            "spiece.model",
            "sentencepiece.bpe.model",
            "vocab.txt",
        ):
            if (path / name).exists():
                loaded = _from_path(path / name)
                loaded.roles = {**loaded.roles, **_hf_roles(path)}
                return loaded
        ggufs = sorted(path.glob("*.gguf"))
        if ggufs:
            return _from_path(ggufs[0])
        raise TokenizerError(
            f"{path}: no tokenizer.json, SentencePiece .model, vocab.txt or .gguf in this directory"
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return LoadedTokenizer(
                Tokenizer.from_file(str(path)), _hf_roles(path.parent), str(path)
            )
        if suffix == ".model":
            return _from_sentencepiece(path.read_bytes(), str(path))
        if suffix == ".gguf":
            return _from_gguf(path)
        if suffix == ".txt":
            return _from_wordpiece_vocab(path)
    except TokenizerError:
        raise
    except Exception as e:  # noqa: BLE001 - library errors are re-raised naming the file
        raise TokenizerError(f"{path}: cannot read tokenizer: {e}") from e
    raise TokenizerError(
        f"{path}: unknown tokenizer file type {suffix!r} (expected .json, .model, .gguf, .txt or a "
        f"directory)"
    )


def _from_hub(name: str) -> LoadedTokenizer:
    if (
        name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or name.endswith((".json", ".model", ".gguf", ".txt"))
    ):
        raise TokenizerError(f"{name}: no such file or directory")
    try:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(name, "tokenizer.json"))
    except Exception as e:  # noqa: BLE001 - offline, unknown repo, no tokenizer.json: one clear message
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
        why = (
            "HF_HUB_OFFLINE is set"
            if offline
            else f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        )
        raise TokenizerError(
            f"{name!r} is not a local path and its tokenizer.json could not be fetched from the "
            f"Hugging Face hub ({why}); pass a local tokenizer.json, directory, .model or .gguf"
        ) from None
    loaded = LoadedTokenizer(Tokenizer.from_file(str(path)), None, name)
    try:
        loaded.roles = _hf_roles_files(
            [Path(hf_hub_download(name, f)) for f in ("tokenizer_config.json",)]
        )
    except Exception:  # noqa: BLE001 - roles are optional; names are guessed without them
        pass
    return loaded


def _hf_roles(directory: Path) -> dict[str, str]:
    return _hf_roles_files(
        [directory / n for n in ("special_tokens_map.json", "tokenizer_config.json")]
    )


def _hf_roles_files(paths: list[Path]) -> dict[str, str]:
    """Role → token text from special_tokens_map.json / tokenizer_config.json (the first file naming a
    role wins)."""
    roles: dict[str, str] = {}
    for p in paths:
        if not p.exists():
            continue
        cfg = json.loads(p.read_text(encoding="utf-8"))
        for key, role in _ROLE_KEYS.items():
            v = cfg.get(key)
            if isinstance(v, dict):
                v = v.get("content")
            if isinstance(v, str) and v:
                roles.setdefault(role, v)
    return roles


def _from_wordpiece_vocab(path: Path) -> LoadedTokenizer:

    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    vocab: dict[str, int] = {}
    for i, t in enumerate(lines):
        if t == "":
            raise TokenizerError(f"{path}:{i + 1}: empty token (id {i})")
        if t in vocab:
            raise TokenizerError(f"{path}:{i + 1}: duplicate token {t!r} (ids {vocab[t]} and {i})")
        vocab[t] = i
    unk = "[UNK]" if "[UNK]" in vocab else None
    if unk is None:
        raise TokenizerError(f"{path}: WordPiece vocabulary without an [UNK] token")
    tok = Tokenizer(models.WordPiece(vocab, unk_token=unk))
    tok.normalizer = normalizers.BertNormalizer(
        lowercase=all(not t.isupper() for t in vocab if not t.startswith("["))
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(
        [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in vocab]
    )
    return LoadedTokenizer(tok, _hf_roles(path.parent), str(path))


# ---------------------------------------------------------------------------------------------------------------
# SentencePiece


def _from_sentencepiece(proto_bytes: bytes, source: str) -> LoadedTokenizer:
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.ParseFromString(proto_bytes)
    T = pb.ModelProto.SentencePiece
    pieces = [(p.piece, float(p.score), int(p.type)) for p in m.pieces]
    if not pieces:
        raise TokenizerError(f"{source}: SentencePiece model without pieces")
    ts, ns = m.trainer_spec, m.normalizer_spec
    seen: dict[str, int] = {}
    for i, (p, _, _) in enumerate(pieces):
        if p in seen:
            raise TokenizerError(f"{source}: duplicate piece {p!r} (ids {seen[p]} and {i})")
        seen[p] = i
    unk_id = next((i for i, (_, _, t) in enumerate(pieces) if t == T.UNKNOWN), None)
    if ts.model_type == pb.TrainerSpec.UNIGRAM:
        model = models.Unigram(
            [(p, s) for p, s, _ in pieces], unk_id=unk_id, byte_fallback=ts.byte_fallback
        )
    elif ts.model_type == pb.TrainerSpec.BPE:
        toks = [p for p, _, _ in pieces]
        merges = sentencepiece_merges(
            toks, np.array([s for _, s, _ in pieces], np.float32), np.array([t for *_, t in pieces])
        )
        model = models.BPE(
            {p: i for i, p in enumerate(toks)},
            merges,
            unk_token=toks[unk_id] if unk_id is not None else None,
            fuse_unk=True,
            byte_fallback=ts.byte_fallback,
        )
    else:
        raise TokenizerError(
            f"{source}: SentencePiece model type {ts.model_type} (word/char) is not supported"
        )
    tok = Tokenizer(model)
    steps = []
    if ns.precompiled_charsmap:
        steps.append(normalizers.Precompiled(ns.precompiled_charsmap))
        if "nfkc" in ns.name.lower():
            # `Precompiled` maps characters one by one and misses canonical composition that
            # SentencePiece does (decomposed Bengali vowel signs stay apart): NFKC after it composes
            # them
            steps.append(normalizers.NFKC())
    if ns.remove_extra_whitespaces:
        steps += [normalizers.Strip(), normalizers.Replace(Regex(" {2,}"), " ")]
    if steps:
        tok.normalizer = normalizers.Sequence(steps)
    # The dummy prefix goes in the pre-tokenizer: as a normaliser step it would also be prepended to
    # the user-defined symbols' own text, which then never match.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        prepend_scheme="first" if ns.add_dummy_prefix else "never",
        split=bool(ts.split_by_whitespace),
    )
    dec = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if ns.add_dummy_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(dec)
    tok.add_special_tokens(
        [
            AddedToken(p, special=True, normalized=False)
            for p, _, t in pieces
            if t in (T.CONTROL, T.UNKNOWN)
        ]
    )
    user = [
        AddedToken(p, special=False, normalized=True) for p, _, t in pieces if t == T.USER_DEFINED
    ]
    if user:
        tok.add_tokens(user)
    roles: dict[str, int] = {}
    for role, i in (("unk", ts.unk_id), ("bos", ts.bos_id), ("eos", ts.eos_id), ("pad", ts.pad_id)):
        if 0 <= i < len(pieces) and pieces[i][2] in (T.CONTROL, T.UNKNOWN):
            roles[role] = i
    return LoadedTokenizer(tok, roles, source)


# ---------------------------------------------------------------------------------------------------------------
# GGUF


def gguf_tokenizer_meta(path: Path) -> dict[str, Any]:
    """The tokenizer-related key/values of a GGUF file (`tokenizer.*`, `general.name`,
    `general.architecture`, and `context_length` from `<arch>.context_length`).

    The one place that reads GGUF bytes for tokenizers: a truncated or foreign file is one
    TokenizerError naming the file."""
    # zett.checkpoint reads GGUF tokenizers with this package: a cycle at the top
    from zett.checkpoint import GGUFFile, GGUFFormatError

    try:
        if path.stat().st_size == 0:
            raise TokenizerError(f"{path}: empty file, not a GGUF file")
        f = GGUFFile(path)
        metadata, size = f.metadata, path.stat().st_size
        end = max((f.data_start + t.offset + t.n_bytes for t in f.tensors.values()), default=0)
        if end > size:  # the header is whole but the file was cut: do not trust it
            raise TokenizerError(
                f"{path}: truncated GGUF file (its tensors end at byte {end}, the file has {size})"
            )
    except TokenizerError:
        raise
    except GGUFFormatError as e:
        raise TokenizerError(f"{e} (reading it as a GGUF tokenizer)") from None
    except (OSError, ValueError) as e:
        raise TokenizerError(f"{path}: cannot read as a GGUF file ({e})") from None
    meta: dict[str, Any] = {}
    for key, v in metadata.items():
        if key.startswith("tokenizer.") or key in ("general.name", "general.architecture"):
            meta[key] = v
        elif key.endswith(".context_length"):
            meta["context_length"] = v
    return meta


def read_gguf_tokenizer(path: str | os.PathLike) -> GGUFTokenizer:
    """The tokenizer a GGUF file describes, whatever its model architecture (HF files via `.save`)."""
    path = Path(path)
    return tokenizer_from_gguf(gguf_tokenizer_meta(path), source=str(path))


_GGUF_CODE = ("gguf_tokenizer.py", "gguf_models.py", "gguf_pre.py", "load.py")


@lru_cache(maxsize=4)
def _gguf_cached(path_str: str, stamp: tuple[int, int]) -> tuple[str, tuple[tuple[str, int], ...]]:
    # Reading and rebuilding a 262k-token vocabulary takes seconds: keep the rebuilt tokenizer.json
    # on disk, keyed by the file and by the rebuilding code, so a fix there is never hidden behind
    # an old cache entry
    here = Path(__file__).parent
    code = hashlib.sha1(b"".join((here / f).read_bytes() for f in _GGUF_CODE)).digest()
    key = hashlib.sha1(f"{path_str}:{stamp}:v2:".encode() + code).hexdigest()[:16]
    cache = Path(os.environ.get("ZETT_CACHE", Path.home() / ".cache" / "zett")) / "tokenizers"
    tj, rj = cache / f"{key}.tokenizer.json", cache / f"{key}.roles.json"
    if tj.exists() and rj.exists():
        return tj.read_text(encoding="utf-8"), tuple(tuple(x) for x in json.loads(rj.read_text()))
    built = read_gguf_tokenizer(path_str)
    roles = sorted(built.roles.items())
    text = built.tokenizer.to_str()
    # not at module top: zett.checkpoint imports zett.tokenization (GGUF checkpoints)
    from zett.checkpoint.atomic import write_atomic

    for target, data in ((tj, text), (rj, json.dumps(roles))):
        write_atomic(target, data)
    return text, tuple(roles)


def _from_gguf(path: Path) -> LoadedTokenizer:
    st = path.stat()
    text, roles = _gguf_cached(str(path.resolve()), (st.st_size, int(st.st_mtime)))
    return LoadedTokenizer(None, dict(roles), str(path), text=text)
