"""A donor: a model that already speaks the target tokenizer. Only its vocabulary and embedding
tables are read; donor methods (OMP, CLP) place each target token in the donor's space."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zett.checkpoint import (
    CheckpointError,
    read_gguf,
    read_hf_config,
    read_tensor,
    resolve,
    tensor_entries,
)
from zett.tokenization import CanonicalVocab, canonicalize, load_tokenizer, map_specials, overlap

# HF names of the tables a donor lends; the same names `zett transfer` rewrites
_INPUT = re.compile(r"(^|.*\.)(embed_tokens|word_embeddings)\.weight")
_OUTPUT = re.compile(r"(^|.*\.)(lm_head|cls\.predictions\.decoder)\.weight")


@dataclass
class Donor:
    """vocab: the donor's canonical vocabulary; input_embeddings [donor_vocab, donor_embed];
    output_embeddings [donor_vocab, donor_embed], None when tied; label names it in errors."""

    vocab: CanonicalVocab
    input_embeddings: np.ndarray
    output_embeddings: np.ndarray | None = None
    label: str = "donor"

    def __post_init__(self) -> None:
        n = self.input_embeddings.shape[0]
        if self.input_embeddings.ndim != 2 or self.vocab.size > n:
            raise ValueError(
                f"{self.label}: vocabulary has {self.vocab.size} ids but the input embedding table "
                f"is {self.input_embeddings.shape}"
            )
        out = self.output_embeddings
        if out is not None and out.shape != self.input_embeddings.shape:
            raise ValueError(
                f"{self.label}: output embeddings {out.shape} != input embeddings "
                f"{self.input_embeddings.shape}"
            )

    def table(self, key: str) -> np.ndarray:
        """The donor table that plays the role of the base model's table `key` ("input" or
        "output"): a tied donor's output table is its input table, as in mergekit's tokensurgeon."""
        if key == "output" and self.output_embeddings is not None:
            return self.output_embeddings
        return self.input_embeddings


def read_embedding_tables(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(input [vocab, embed], output or None when tied) float32 from a GGUF file or a Hugging Face
    directory, reading only those tensors.

    The one place donor weights are read, so it can follow zett's checkpoint readers when they
    move."""
    if path.is_file() and path.suffix == ".gguf":
        names = ("model.embed_tokens.weight", "lm_head.weight")
        g = read_gguf(path, tensors=lambda name: name in names)
        out = g.tensors.get("lm_head.weight")
        return g.tensors["model.embed_tokens.weight"], out
    names = list(tensor_entries(path))
    inputs = [n for n in names if _INPUT.fullmatch(n)]
    outputs = [n for n in names if _OUTPUT.fullmatch(n)]
    if len(inputs) != 1 or len(outputs) > 1:
        raise ValueError(
            f"{path}: expected one input embedding tensor and at most one output head, found "
            f"{inputs} and {outputs}"
        )
    cfg = read_hf_config(path)
    tied = bool(cfg.get("tie_word_embeddings", True))
    e_in = read_tensor(path, inputs[0]).astype(np.float32, copy=False)
    e_out = None
    if outputs and not tied:
        e_out = read_tensor(path, outputs[0]).astype(np.float32, copy=False)
    return e_in, e_out


def load_donor(spec: str | Path) -> Donor:
    """The donor named by a packaged alias (`gemma3`, `smollm2`), a .gguf file or a Hugging Face
    model directory (or hub id): its tokenizer and embedding tables, nothing else."""
    try:
        path = resolve(spec)
    except (FileNotFoundError, CheckpointError) as e:
        raise ValueError(f"donor {spec}: {e}") from None
    if path.is_file() and path.suffix != ".gguf":
        raise ValueError(f"donor {path}: expected a .gguf file or a model directory")
    vocab = canonicalize(load_tokenizer(path))
    e_in, e_out = read_embedding_tables(path)
    return Donor(vocab, e_in, e_out, label=f"donor {spec}")


def as_donor(donor: Donor | str | Path | None, method: str) -> Donor:
    if donor is None:
        raise ValueError(
            f"{method} needs a donor: a model that already uses the target tokenizer (e.g. "
            f"--donor gemma3 when moving onto Gemma-3's tokenizer)"
        )
    return donor if isinstance(donor, Donor) else load_donor(donor)


def donor_rows(target: CanonicalVocab, donor: Donor) -> np.ndarray:
    """[target_vocab] int64: the donor row of each target id (−1 where the donor lacks it). The
    identity when the donor's vocabulary is the target's; else regular tokens by their bytes,
    specials by their text, then by role."""
    n = target.size
    same_specials = {(s.id, s.token) for s in target.specials} == {
        (s.id, s.token) for s in donor.vocab.specials
    }
    if donor.vocab.tokens[:n] == target.tokens and same_specials:
        return np.arange(n, dtype=np.int64)
    rows = np.full(n, -1, np.int64)
    ov = overlap(target, donor.vocab)
    rows[ov.target_ids] = ov.source_ids
    for i in target.shadowed:
        hit = donor.vocab.id_of(target.tokens[i])
        rows[i] = -1 if hit is None else hit
    by_text = {s.token: s.id for s in donor.vocab.specials}
    by_role = map_specials(target, donor.vocab)
    for s in target.specials:
        rows[s.id] = by_text.get(s.token, by_role.get(s.id, -1))
    return rows


def require_rows(rows: np.ndarray, ids: np.ndarray, target: CanonicalVocab, donor: Donor) -> None:
    """Raises, naming examples, when a target token that needs the donor has no donor row."""
    lacking = ids[rows[ids] < 0]
    if lacking.size:
        names = [
            target.tokens[i] or next(s.token for s in target.specials if s.id == i)
            for i in lacking[:5].tolist()
        ]
        raise ValueError(
            f"{donor.label} lacks {lacking.size} of the target tokenizer's tokens (e.g. "
            f"{names}); a donor must use the target tokenizer"
        )
