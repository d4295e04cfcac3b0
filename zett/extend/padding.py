"""Rows for padding ids (`--pad-to-multiple`) whose probability underflows to exactly 0.

A bias-free LM head cannot give a row zero probability for every possible hidden state: for any row
w there are states h with w·h > 0. What it can do is score far below the best old id on the states
the model actually produces. The final hidden states of a pretrained LM lie in a narrow cone (they
share a large common component), so there is a direction d̂ with d̂·h > 0 at every position of
real text; a padding row -λ·d̂ then scores -λ·(d̂·h), and with λ·min(d̂·h) ≥ `PAD_LOGIT_GAP` its
fp32 softmax probability is exp(≤ -10⁴) = 0 (fp32 underflows below e^-104).

d̂ is fitted on calibration text — train-split chapters of the packaged Bibles in several scripts
and train-split standard-library code, never the held-out units the mass report scores — by
pushing the mean direction towards the least-aligned states (max-min margin). Padding ids are never
inputs, so a tied embedding can carry this row. transformers has no config field that removes an id
from the forward logits; `generation_config.json`'s `suppress_tokens` (set as well) only masks
generation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ml_dtypes
import numpy as np

from zett.extend.mass import encode_batch, final_hidden

PAD_LOGIT_GAP = 1e4  # padding logit at the least-aligned calibration state
CAL_LANGS = ("en", "de", "ru", "zh", "ar", "hi", "ja", "ko")
CAL_CODE = ("textwrap.py", "argparse.py", "csv.py", "difflib.py", "heapq.py", "fractions.py")
CAL_TOKENS = 128


class PaddingCalibrationError(ValueError):
    """No direction separates the calibration states from the origin (no padding row is safe)."""


@dataclass(frozen=True)
class PaddingRow:
    """row [embed] = -scale · direction; margin = min over calibration states of direction·h."""

    row: np.ndarray
    direction: np.ndarray
    scale: float
    margin: float
    states: int

    def to_dict(self) -> dict:
        return {"scale": self.scale, "margin": self.margin, "calibration_states": self.states}


def calibration_texts(
    langs: Sequence[str] = CAL_LANGS, per_lang: int = 2, code: Sequence[str] = CAL_CODE
) -> list[str]:
    """Train-split text only: `per_lang` Bible chapters of train units per language and standard
    library files whose corpus unit is a train unit (`zett.data.build.is_heldout`)."""
    from zett.data.build import CorpusConfig, is_heldout
    from zett.data.sources import bible, python_code

    config = CorpusConfig()
    texts: list[str] = []
    for lang in langs:
        chapters = [
            d.joiner.join(d.segments)
            for d in bible.iter_documents(lang)
            if not is_heldout(d.unit, config)
        ]
        step = max(len(chapters) // per_lang, 1)
        texts += chapters[::step][:per_lang]
    root = python_code.stdlib_dir()
    for name in code:
        if (root / name).is_file() and not is_heldout(f"{python_code.SOURCE}/{name}", config):
            texts.append((root / name).read_text(encoding="utf-8"))
    return texts


def max_min_direction(states: np.ndarray, steps: int = 300, lr: float = 0.5) -> np.ndarray:
    """Unit direction [embed] that (approximately) maximises min_k d·states[k] for states
    [n, embed]: subgradient ascent from the mean direction, each step (size lr/√(t+1)) towards the
    mean of the 1% least-aligned states; the best direction seen is returned."""
    x = states.astype(np.float64)
    d = x.mean(0)
    d /= np.linalg.norm(d)
    k = max(len(x) // 100, 1)
    scale = np.linalg.norm(x, axis=1).mean()
    best, best_margin = d, (x @ d).min()
    for t in range(steps):
        margins = x @ d
        worst = x[np.argpartition(margins, k - 1)[:k]].mean(0)
        d = d + lr / np.sqrt(t + 1) * worst / scale
        d /= np.linalg.norm(d)
        margin = (x @ d).min()
        if margin > best_margin:
            best, best_margin = d, margin
    return best


def padding_row(
    model, tokenizer, texts: Sequence[str] | None = None, dtype=np.float32
) -> PaddingRow:
    """The padding row for `model` (zett `LanguageModel`, the *source* model: old ids score the
    same after extension) from its final hidden states on `texts` (default: `calibration_texts()`),
    representable in `dtype` (the checkpoint's)."""
    texts = calibration_texts() if texts is None else texts
    ids, lengths = encode_batch(tokenizer, texts, CAL_TOKENS)
    states = np.concatenate(final_hidden(model, ids, lengths)).astype(np.float64)
    d = max_min_direction(states)
    margin = float((states @ d).min())
    if not margin > 0:
        raise PaddingCalibrationError(
            f"no direction has a positive margin on {len(states)} calibration states (best "
            f"{margin:.3g})"
        )
    # the largest entry stays well inside the dtype's range (float16: 65504)
    limit = 0.25 * float(ml_dtypes.finfo(dtype).max) / float(np.abs(d).max())
    scale = min(PAD_LOGIT_GAP / margin, limit)
    return PaddingRow((-scale * d).astype(dtype), d, scale, margin, len(states))
