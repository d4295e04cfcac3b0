"""How often the byte-level conversion segments text exactly like the original tokenizer, with example
differences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenizers import Tokenizer


@dataclass(frozen=True)
class Diff:
    """One text the two tokenizers segment differently (token strings as each tokenizer spells
    them)."""

    text: str
    original: tuple[str, ...]
    converted: tuple[str, ...]
    original_ids: tuple[int, ...]
    converted_ids: tuple[int, ...]


@dataclass(frozen=True)
class Agreement:
    """`n_equal` of `n_texts` texts got identical id sequences; token counts of both sides; some
    differences."""

    n_texts: int
    n_equal: int
    n_tokens_original: int
    n_tokens_converted: int
    examples: tuple[Diff, ...]
    n_helper_only: int = (
        0  # differences that vanish when partial-character helper tokens are spelled as bytes
    )

    @property
    def ratio(self) -> float:
        return self.n_equal / max(self.n_texts, 1)

    def to_dict(self, max_examples: int = 5) -> dict[str, Any]:
        return {
            "n_texts": self.n_texts,
            "n_equal": self.n_equal,
            "agreement": self.ratio,
            "n_differ_only_by_helpers": self.n_helper_only,
            "agreement_after_spelling_helpers": (self.n_equal + self.n_helper_only)
            / max(self.n_texts, 1),
            "n_tokens_original": self.n_tokens_original,
            "n_tokens_converted": self.n_tokens_converted,
            "examples": [
                {
                    "text": d.text,
                    "original": list(d.original),
                    "converted": list(d.converted),
                    "original_ids": list(d.original_ids),
                    "converted_ids": list(d.converted_ids),
                }
                for d in self.examples[:max_examples]
            ],
        }


def measure_agreement(
    original: Any,
    converted: Any,
    texts: Sequence[str],
    max_examples: int = 20,
    canonical: Any = None,
) -> Agreement:
    """Encodes `texts` with both `tokenizers.Tokenizer`s (no special tokens added) and compares id
    sequences.

    With the original's `canonical` vocabulary, a difference where the converted side used
    partial-character helper tokens (ids past the vocabulary, for characters it lacks) and spelling
    them out as the original's byte pieces gives the original ids is counted in `n_helper_only` (it
    is still a difference)."""
    texts = list(texts)
    original, converted = _plain(original), _plain(converted)
    a = original.encode_batch(texts, add_special_tokens=False)
    b = converted.encode_batch(texts, add_special_tokens=False)
    n_equal, n_helper, examples = 0, 0, []
    na = nb = 0
    for text, ea, eb in zip(texts, a, b):
        na += len(ea.ids)
        nb += len(eb.ids)
        if ea.ids == eb.ids:
            n_equal += 1
            continue
        if canonical is not None and _spell_helpers(eb.ids, converted, canonical) == ea.ids:
            n_helper += 1
        if len(examples) < max_examples:
            examples.append(
                Diff(text, tuple(ea.tokens), tuple(eb.tokens), tuple(ea.ids), tuple(eb.ids))
            )
    return Agreement(len(texts), n_equal, na, nb, tuple(examples), n_helper)


def _spell_helpers(ids: Sequence[int], converted: Any, canonical: Any) -> list[int | None]:
    out: list[int | None] = []
    for i in ids:
        if i < canonical.size:
            out.append(i)
        else:
            out += [canonical.id_of(c) for c in converted.id_to_token(i) or "?"]
    return out


def _plain(tok: Any) -> Any:
    """A copy without padding/truncation (tokenizer.json files often fix them, which would hide
    differences)."""
    if tok.padding is None and tok.truncation is None:
        return tok
    tok = Tokenizer.from_str(tok.to_str())
    tok.no_padding()
    tok.no_truncation()
    return tok
