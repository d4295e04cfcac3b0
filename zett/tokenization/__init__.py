"""Any tokenizer → canonical byte-level vocabulary; byte-level conversion; decomposition into source
ids; overlap."""

from .agreement import Agreement, Diff, measure_agreement
from .byte_alphabet import (
    BYTE_TO_CHAR,
    CHAR_TO_BYTE,
    TokenizerError,
    from_canonical,
    is_canonical,
    text_to_canonical,
    to_canonical,
)
from .byte_level import ByteLevelModel, byte_level_model, to_byte_level
from .canonical import CanonicalVocab, SpecialToken, canonicalize
from .decompose import Decomposer, SurfaceForms
from .gguf_tokenizer import GGUFTokenizer, tokenizer_from_gguf
from .load import LoadedTokenizer, load_tokenizer, read_gguf_tokenizer
from .overlap import Overlap, map_specials, overlap

__all__ = [
    "Agreement",
    "BYTE_TO_CHAR",
    "CHAR_TO_BYTE",
    "ByteLevelModel",
    "CanonicalVocab",
    "Decomposer",
    "Diff",
    "GGUFTokenizer",
    "LoadedTokenizer",
    "Overlap",
    "SpecialToken",
    "SurfaceForms",
    "TokenizerError",
    "byte_level_model",
    "canonicalize",
    "from_canonical",
    "is_canonical",
    "load_tokenizer",
    "map_specials",
    "measure_agreement",
    "overlap",
    "read_gguf_tokenizer",
    "text_to_canonical",
    "to_byte_level",
    "to_canonical",
    "tokenizer_from_gguf",
]
