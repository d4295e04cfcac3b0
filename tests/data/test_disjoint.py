"""Provenance checks: evaluation text from held-out units only, and evaluation corpora that share
nothing with a training corpus."""

from __future__ import annotations

import hashlib
import json

import pytest

from zett.cli.main import main
from zett.data import assert_held_out, assert_never_trained, corpus_overlap
from zett.data.disjoint import iter_records

OTHER = (
    "Ein ganz anderer Text aus einer anderen Quelle, der in keinem Trainingskorpus vorkommt. " * 3
)


def _split_hash(seed: int, unit: str) -> float:
    """The split rule's number for a unit, written out here independently of zett.data.clean."""
    key = f"{seed}\x1fsplit\x1f{unit}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64


def _write_corpus(path, records: list[dict], split: str = "heldout", purpose: str = "eval"):
    """A hand-made corpus directory (manifest + one JSONL per language)."""
    langs: dict[str, list[dict]] = {}
    for r in records:
        langs.setdefault(r["lang"], []).append(r)
    entries = {}
    for lang, rs in langs.items():
        rel = f"{split}/{lang}.jsonl"
        (path / split).mkdir(parents=True, exist_ok=True)
        (path / rel).write_text("".join(json.dumps(r) + "\n" for r in rs))
        entries[lang] = {"splits": {split: {"file": rel}}}
    manifest = {"purpose": purpose, "config": {"sources": [], "seed": 0}, "languages": entries}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def _train_records(corpus, lang, source="bible"):
    return [r for r in iter_records(corpus, "train") if r["lang"] == lang and r["source"] == source]


def test_heldout_records_pass_and_train_records_fail(small_corpus):
    out, _ = small_corpus
    held = list(iter_records(out, "heldout"))
    assert assert_held_out(held, out) == len(held)
    train = _train_records(out, "ru")[:1]
    with pytest.raises(AssertionError, match="1 of 1 evaluation records come from training units"):
        assert_held_out(train, out)


def test_another_translation_of_a_train_chapter_fails(small_corpus):
    out, _ = small_corpus
    _, translation, book, chapter = _train_records(out, "pt")[0]["doc"].split("/")
    # English is not even in this corpus: the chapter unit is shared by every translation
    record = {"source": "bible", "doc": f"bible/KJV1611/{book}/{chapter}"}
    with pytest.raises(AssertionError, match=f"unit bible/{book}/{chapter}"):
        assert_held_out([record], out)


def test_unused_units_are_judged_by_the_split_rule(small_corpus, small_config):
    out, _ = small_corpus
    used = {"/".join(r["doc"].split("/")[2:]) for r in iter_records(out, "train")}
    used |= {"/".join(r["doc"].split("/")[2:]) for r in iter_records(out, "heldout")}
    unused = [f"{b}/{c}" for b in range(1, 67) for c in range(1, 30) if f"{b}/{c}" not in used]
    seed, fraction = small_config.seed, small_config.heldout_fraction
    train_side = next(u for u in unused if _split_hash(seed, f"bible/{u}") >= fraction)
    held_side = next(u for u in unused if _split_hash(seed, f"bible/{u}") < fraction)
    with pytest.raises(AssertionError, match=f"unit bible/{train_side}"):
        assert_held_out([{"source": "bible", "doc": f"bible/KJV1611/{train_side}"}], out)
    assert assert_held_out([{"source": "bible", "doc": f"bible/KJV1611/{held_side}"}], out) == 1
    # a held-out unit whose text is a training passage (the same text under another name)
    text = _train_records(out, "ru")[0]["text"]
    record = {"source": "bible", "doc": f"bible/KJV1611/{held_side}", "text": text}
    with pytest.raises(AssertionError, match="its text is a training passage"):
        assert_held_out([record], out)


def _fortune(text, i=0, lang="ru"):
    return {
        "text": text,
        "lang": lang,
        "source": "fortunes",
        "doc": f"fortunes/fortunes-{lang}/{lang}/{lang}/f{i}",
    }


def test_corpus_overlap(small_corpus, tmp_path):
    out, _ = small_corpus
    train_text = _train_records(out, "ru")[0]["text"]

    clean = _write_corpus(tmp_path / "clean", [_fortune(OTHER)])
    overlap = assert_never_trained(out, clean)
    assert overlap.clean and overlap.eval_passages == 1 and overlap.lines == 0

    # a line of training text inside a longer passage: reported, not a passage overlap
    quoting = _write_corpus(tmp_path / "quoting", [_fortune(OTHER + "\n" + train_text)])
    overlap = assert_never_trained(out, quoting)
    assert overlap.lines == 1 and overlap.eval_lines == 2 and overlap.passages == 0

    copied = _write_corpus(tmp_path / "copied", [_fortune(OTHER), _fortune(train_text, 1)])
    with pytest.raises(AssertionError, match="training passage: 1 of 2"):
        assert_never_trained(out, copied)

    held = [r for r in iter_records(out, "heldout") if r["source"] == "bible"][:1]
    same_family = _write_corpus(tmp_path / "family", held)
    overlap = corpus_overlap(out, same_family)
    assert overlap.sources == ("bible",) and overlap.units == () and not overlap.clean


def test_cli_check(small_corpus, tmp_path, capsys):
    out, _ = small_corpus
    clean = _write_corpus(tmp_path / "clean", [_fortune(OTHER)])
    assert main(["data", "check", "--train", str(out), "--eval", str(clean)]) == 0
    assert "OK: never trained on" in capsys.readouterr().out
    train_text = _train_records(out, "ru")[0]["text"]
    copied = _write_corpus(tmp_path / "copied", [_fortune(train_text)])
    assert main(["data", "check", "--train", str(out), "--eval", str(copied)]) == 1
    assert "FAIL" in capsys.readouterr().out
