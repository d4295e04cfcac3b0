"""`build_corpus` on the real Bible database and the stdlib: languages, scripts, disjoint splits,
determinism."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from zett.data import CorpusConfig, build_corpus
from zett.data.build import is_heldout
from zett.data.clean import content_hash


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_languages_scripts_and_budgets(small_corpus, small_config):
    SMALL = small_config
    out, manifest = small_corpus
    langs = manifest["languages"]
    assert tuple(langs) == SMALL.langs
    natural = {lang: e["script"] for lang, e in langs.items() if lang != "py"}
    assert len(natural) >= 8
    assert len(set(natural.values())) >= 4
    assert langs["py"]["script"] == "Code"
    for lang, e in langs.items():
        train, held = e["splits"]["train"], e["splits"]["heldout"]
        assert (
            SMALL.max_chars_per_lang
            <= train["chars"]
            < SMALL.max_chars_per_lang + SMALL.max_passage_chars
        )
        assert 0 < held["chars"] < SMALL.heldout_chars + SMALL.max_passage_chars
        assert set(train["sources"]) == {"python-code" if lang == "py" else "bible"}


def test_files_match_manifest_and_records_are_clean(small_corpus, small_config):
    SMALL = small_config
    out, manifest = small_corpus
    for lang, e in manifest["languages"].items():
        for stats in e["splits"].values():
            records = _records(out / stats["file"])
            assert len(records) == stats["passages"]
            assert sum(len(r["text"]) for r in records) == stats["chars"]
            assert sum(len(r["text"].encode()) for r in records) == stats["bytes"]
            assert len({r["doc"] for r in records}) == stats["documents"]
            for r in records:
                assert set(r) == {"text", "lang", "source", "doc"} and r["lang"] == lang
                assert SMALL.min_passage_chars <= len(r["text"]) <= SMALL.max_passage_chars
                assert unicodedata.is_normalized("NFC", r["text"])
                if lang != "py":
                    assert "  " not in r["text"] and "\n" not in r["text"]
            assert len({content_hash(r["text"]) for r in records}) == len(records)  # deduplicated


def test_heldout_is_disjoint_from_train(small_corpus, small_config):
    SMALL = small_config
    out, manifest = small_corpus
    for lang, e in manifest["languages"].items():
        train = _records(out / e["splits"]["train"]["file"])
        held = _records(out / e["splits"]["heldout"]["file"])
        assert not {r["text"] for r in train} & {r["text"] for r in held}
        # split by chapter/subpackage: a held-out chapter is held out in every translation
        chapters = lambda rs: {
            "/".join(r["doc"].split("/")[2:]) if r["source"] == "bible" else r["doc"] for r in rs
        }  # noqa: E731
        assert not chapters(train) & chapters(held)
        units = [r["doc"] for r in held]
        if lang != "py":
            assert all(is_heldout("bible/" + "/".join(d.split("/")[2:]), SMALL) for d in units)


def test_deterministic_for_a_seed(tmp_path):
    config = CorpusConfig(langs=("ru", "ko"), sources=("bible",), max_chars_per_lang=20_000, seed=3)
    build_corpus(tmp_path / "a", config)
    build_corpus(tmp_path / "b", config)
    build_corpus(tmp_path / "c", CorpusConfig(**{**config.__dict__, "seed": 4}))
    for rel in ("train/ru.jsonl", "heldout/ru.jsonl", "train/ko.jsonl", "heldout/ko.jsonl"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
        assert (tmp_path / "a" / rel).read_bytes() != (tmp_path / "c" / rel).read_bytes()
    assert not list((tmp_path / "a").rglob("*.tmp"))


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        CorpusConfig(langs=("en", "xx"))
    with pytest.raises(ValueError, match="unknown source"):
        CorpusConfig(sources=("bible", "wikipedia"))
    with pytest.raises(ValueError, match="heldout_fraction"):
        CorpusConfig(heldout_fraction=1.5)
    with pytest.raises(ValueError, match="no text for language 'py' from sources bible"):
        build_corpus(tmp_path, CorpusConfig(langs=("py",), sources=("bible",)))
    assert not (tmp_path / "manifest.json").exists()
