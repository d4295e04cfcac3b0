"""Probability mass an extended model puts on its new ids and on its padding rows, measured by
running zett's own decoder on held-out text (what `zett extend` reports after writing a model).

Before any training, new rows should take next to no probability from the text the model already
models (issue 18: `mvn` rows took 5.3% of SmolLM2's mass on English), and padding rows, which no
tokenizer ever emits, none at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from zett.extend.layout import VocabLayout

MASS_LANGS = ("en", "de")  # English plus one other script-sharing language: cheap, always packaged
MASS_PASSAGES = 4  # held-out passages per language
MASS_TOKENS = 128  # tokens per passage (the first ones)


@dataclass(frozen=True)
class Mass:
    """Softmax probability [positions] summed over a set of ids: mean and max over positions, and
    how many positions give it any probability at all (fp32)."""

    mean: float
    max: float
    nonzero: int

    @classmethod
    def of(cls, p: np.ndarray) -> Mass:
        return cls(float(p.mean()), float(p.max()), int((p > 0).sum()))

    def to_dict(self) -> dict:
        return {"mean": self.mean, "max": self.max, "nonzero_positions": self.nonzero}


@dataclass(frozen=True)
class MassReport:
    """Per text label (a language): positions scored, mass on the new ids of each segment, on all
    new ids together, and on padding (reserved) ids."""

    positions: dict[str, int]
    new: dict[str, dict[str, Mass]]  # {label: {segment: Mass}}
    new_total: dict[str, Mass]
    padding: dict[str, Mass]

    def to_dict(self) -> dict:
        return {
            label: {
                "positions": self.positions[label],
                "new": {seg: m.to_dict() for seg, m in self.new[label].items()},
                "new_total": self.new_total[label].to_dict(),
                "padding": self.padding[label].to_dict(),
            }
            for label in self.positions
        }

    def line(self) -> str:
        """One line per label: mean/max mass on new ids and on padding."""
        parts = []
        for label, n in self.positions.items():
            t, p = self.new_total[label], self.padding[label]
            parts.append(
                f"{label} ({n} positions): new ids {100 * t.mean:.4f}% mean, "
                f"{100 * t.max:.3f}% max; padding {p.max:.3g} max "
                f"({p.nonzero} positions > 0)"
            )
        return "; ".join(parts)


def heldout_passages(
    langs: Sequence[str] = MASS_LANGS, n: int = MASS_PASSAGES
) -> dict[str, list[str]]:
    """{lang: n held-out passages} of the packaged Bibles (corpus held-out units: no training path
    reads them)."""
    from zett.eval.heldout import bible_split

    return {lang: bible_split(lang, n, min_units=min(n, 8)).heldout_texts for lang in langs}


def encode_batch(tokenizer, texts: Sequence[str], max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """ids [n, len] (right-padded with 0) and lengths [n] of the first `max_tokens` tokens of each
    text, with the tokenizer's own special tokens (e.g. Gemma's <bos>)."""
    seqs = [tokenizer.encode(t).ids[:max_tokens] for t in texts]
    if not all(seqs):
        raise ValueError("an empty text cannot be scored")
    lengths = np.array([len(s) for s in seqs])
    ids = np.zeros((len(seqs), int(lengths.max())), np.int32)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    return ids, lengths


def final_hidden(model, ids: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Final (normed) hidden states [len_i, embed] per sequence. Right padding cannot change the
    positions before it (causal attention), so one batch serves sequences of any length."""
    import jax.numpy as jnp

    out = model(jnp.asarray(ids)).last_hidden_state
    return [np.asarray(out[i, :n]) for i, n in enumerate(lengths)]


def softmax_fp32(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float32 (probabilities that underflow are exactly 0)."""
    x = logits.astype(np.float32)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def new_id_mass(
    model,
    tokenizer,
    texts: Mapping[str, Sequence[str]] | None,
    layout: VocabLayout,
    new_ids: Sequence[int],
    max_tokens: int = MASS_TOKENS,
    progress: bool = True,
) -> MassReport:
    """Mass of the extended `model` (zett `LanguageModel`) on `new_ids` (grouped by the segment of
    `layout` they are in) and on `layout`'s reserved ids, over `texts` {label: passages} encoded
    with the extended `tokenizer` (None → `heldout_passages()`): mean and max over all next-token
    positions."""
    import jax.numpy as jnp

    texts = heldout_passages() if texts is None else texts
    new_ids = np.asarray(sorted(new_ids), np.int64)
    seg_of = layout.segment_index(new_ids)
    groups = {
        layout.segments[k].name: new_ids[seg_of == k]
        for k in np.unique(seg_of)
        if not layout.segments[k].reserved
    }
    reserved = np.concatenate(
        [np.arange(r.lo, r.hi) for r in layout.ranges if r.reserved] + [np.zeros(0, np.int64)]
    )
    positions, new, total, padding = {}, {}, {}, {}
    for label, passages in tqdm(
        texts.items(), desc="mass on new ids", disable=not progress, leave=False
    ):
        ids, lengths = encode_batch(tokenizer, passages, max_tokens)
        probs = {name: [] for name in groups}
        p_new, p_pad = [], []
        for h in final_hidden(model, ids, lengths):
            p = softmax_fp32(np.asarray(model.logits_from_hidden(jnp.asarray(h[None])))[0])
            for name, g in groups.items():
                probs[name].append(p[:, g].sum(-1, dtype=np.float64))
            p_new.append(p[:, new_ids].sum(-1, dtype=np.float64))
            p_pad.append(p[:, reserved].sum(-1, dtype=np.float64))
        positions[label] = int(lengths.sum())
        new[label] = {name: Mass.of(np.concatenate(v)) for name, v in probs.items()}
        total[label] = Mass.of(np.concatenate(p_new))
        padding[label] = Mass.of(np.concatenate(p_pad))
    return MassReport(positions, new, total, padding)
