"""Corpus card and content hash of a built corpus."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from zett.cli.main import main
from zett.config import load_config
from zett.data import CorpusConfig, corpus_sha256, training_data
from zett.data.card import card
from zett.data.sources import SOURCE_INFO


def test_card_cells_count_the_files(small_corpus):
    out, manifest = small_corpus
    text = card(manifest, "small")
    for lang in ("hi", "py"):
        records = [json.loads(x) for x in (out / f"train/{lang}.jsonl").read_text().splitlines()]
        source = "bible" if lang == "hi" else "python-code"
        chars = sum(len(r["text"]) for r in records)
        docs = len({r["doc"] for r in records})
        row = f"| {lang} | {manifest['languages'][lang]['script']} |"
        line = next(
            x for x in text.splitlines() if x.startswith(row)
        )  # the train table comes first
        cells = [c.strip() for c in line.strip("|").split("|")]
        column = 2 + list(manifest["config"]["sources"]).index(source)
        assert cells[column] == cells[-1] == f"{chars:,} / {len(records):,} / {docs:,}"
        assert cells.count("–") == 1  # the language has no text of the other source
    assert manifest["content_sha256"] in text and "seed: 7" in text


def test_corpus_hash_is_recomputed_and_detects_edits(small_corpus, tmp_path):
    out, manifest = small_corpus
    assert corpus_sha256(out) == manifest["content_sha256"]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    record = training_data(copy, command="zett data build ...")
    assert record["content_sha256"] == manifest["content_sha256"] and record["seed"] == 7
    with open(copy / "train/ru.jsonl", "a") as f:
        f.write(json.dumps({"text": "x", "lang": "ru", "source": "bible", "doc": "d"}) + "\n")
    with pytest.raises(ValueError, match="train/ru.jsonl changed since it was built"):
        corpus_sha256(copy)


def test_hash_of_a_corpus_without_recorded_hashes(small_corpus, tmp_path):
    out, _ = small_corpus
    copy = tmp_path / "old"
    shutil.copytree(out, copy)
    m = json.loads((copy / "manifest.json").read_text())
    del m["content_sha256"]
    for e in m["languages"].values():
        for s in e["splits"].values():
            del s["sha256"]
    (copy / "manifest.json").write_text(json.dumps(m))
    lines = sorted(
        f"{s['file']} {hashlib.sha256((copy / s['file']).read_bytes()).hexdigest()}\n"
        for e in m["languages"].values()
        for s in e["splits"].values()
    )
    assert corpus_sha256(copy) == hashlib.sha256("".join(lines).encode()).hexdigest()


def test_cli_card(small_corpus, tmp_path, capsys):
    out, _ = small_corpus
    assert main(["data", "info", str(out), "--card", str(tmp_path / "card.md")]) == 0
    assert (tmp_path / "card.md").read_text().startswith(f"# Corpus card: {out.name}")


@pytest.mark.parametrize("name", ["standard", "hypernet-v2", "ood"])
def test_committed_configs_keep_training_and_evaluation_apart(name):
    config = load_config(CorpusConfig, f"experiments/data/{name}.yaml")  # validates the roles
    role = "eval" if name == "ood" else "train"
    assert config.purpose == role
    assert all(SOURCE_INFO[s].role == role for s in config.sources)
    if role == "eval":  # every evaluation family is used
        assert set(config.sources) == {n for n, s in SOURCE_INFO.items() if s.role == "eval"}


def test_v2_holds_out_what_the_standard_corpus_holds_out():
    standard = load_config(CorpusConfig, "experiments/data/standard.yaml")
    v2 = load_config(CorpusConfig, "experiments/data/hypernet-v2.yaml")
    assert (v2.seed, v2.heldout_fraction) == (standard.seed, standard.heldout_fraction)
    assert set(v2.langs) >= set(standard.langs)
