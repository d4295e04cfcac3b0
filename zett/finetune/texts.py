"""Training and held-out texts of a run; the held-out texts are never trained on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zett.data import load_texts
from zett.data.load import MANIFEST
from zett.finetune.config import FinetuneData


@dataclass(frozen=True)
class Texts:
    train: list[str]
    validation: list[str]
    label: str  # names the training text in errors


def _is_corpus(path: str) -> bool:
    return (Path(path) / MANIFEST).is_file()


def _read(path: str, split: str, langs: tuple[str, ...]) -> list[str]:
    return list(load_texts(path, split, list(langs) or None)["text"])


def load_split(data: FinetuneData, seed: int = 0) -> Texts:
    """A corpus dir trains on its "train" split and validates on its "heldout" split; a single file
    (no `data.validation`) keeps its last `validation_texts` texts out of training for validation.
    `max_texts` keeps a seeded random subset of the training texts (in their order)."""
    corpus = _is_corpus(data.train)
    train = _read(data.train, "train", data.langs)
    if data.validation is not None:
        split = "heldout" if _is_corpus(data.validation) else "train"
        validation = _read(data.validation, split, data.langs)
    elif corpus:
        validation = _read(data.train, "heldout", data.langs)
    else:
        n = min(data.validation_texts, max(len(train) - 1, 0))
        train, validation = train[: len(train) - n], train[len(train) - n :]
    if data.max_texts is not None and len(train) > data.max_texts:
        keep = np.sort(np.random.default_rng([seed, 17]).permutation(len(train))[: data.max_texts])
        train = [train[i] for i in keep]
    label = f"data.train {data.train}" + (f" ({','.join(data.langs)})" if data.langs else "")
    return Texts(train, validation[: data.validation_texts], label)
