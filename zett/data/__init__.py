"""Multilingual train/held-out text corpora: built offline from local sources, loaded from disk or the
hub."""

from zett.data.build import DEFAULT_LANGS, SOURCES, CorpusConfig, build_corpus
from zett.data.disjoint import (
    assert_held_out,
    assert_never_trained,
    corpus_overlap,
    record_unit,
    train_units,
)
from zett.data.languages import LANGUAGES, Language, get_language
from zett.data.load import load_texts
from zett.data.provenance import corpus_sha256, training_data

__all__ = [
    "DEFAULT_LANGS",
    "LANGUAGES",
    "SOURCES",
    "CorpusConfig",
    "Language",
    "assert_held_out",
    "assert_never_trained",
    "build_corpus",
    "corpus_overlap",
    "corpus_sha256",
    "get_language",
    "load_texts",
    "record_unit",
    "training_data",
    "train_units",
]
