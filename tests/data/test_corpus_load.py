"""`load_texts`: built corpora and files through `datasets`, hub ids with a clear offline error."""

from __future__ import annotations

import json

import datasets
import pytest

from zett.data import load_texts


def test_jsonl_is_readable_by_datasets(small_corpus):
    out, manifest = small_corpus
    files = [str(out / e["splits"]["train"]["file"]) for e in manifest["languages"].values()]
    ds = datasets.load_dataset("json", data_files=files, split="train")
    assert ds.num_rows == sum(
        e["splits"]["train"]["passages"] for e in manifest["languages"].values()
    )
    assert set(ds.column_names) == {"text", "lang", "source", "doc"}


def test_load_texts_from_corpus(small_corpus):
    out, manifest = small_corpus
    ds = load_texts(out, split="heldout", langs=["ru", "zh"])
    assert set(ds["lang"]) == {"ru", "zh"}
    assert ds.num_rows == sum(
        manifest["languages"][lang]["splits"]["heldout"]["passages"] for lang in ("ru", "zh")
    )
    all_train = load_texts(str(out))
    assert set(all_train["lang"]) == set(manifest["languages"])
    with pytest.raises(ValueError, match=r"language\(s\) \['de'\] not in corpus"):
        load_texts(out, langs=["de"])
    with pytest.raises(ValueError, match="split 'validation' not in corpus"):
        load_texts(out, split="validation")


def test_load_texts_from_files(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(
        "\n".join(json.dumps({"text": f"Satz {i}", "lang": "de"}) for i in range(3)) + "\n"
    )
    assert load_texts(p)["text"] == ["Satz 0", "Satz 1", "Satz 2"]
    t = tmp_path / "y.txt"
    t.write_text("line one\nline two\n")
    ds = load_texts(t, langs=["en"])
    assert ds["lang"] == ["en", "en"] and ds["text"] == ["line one", "line two"]
    with pytest.raises(FileNotFoundError, match="text file not found"):
        load_texts(tmp_path / "missing.jsonl")
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        load_texts(tmp_path)


def test_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        FileNotFoundError, match="could not load 'wikimedia/wikipedia'.*zett data build"
    ):
        load_texts("wikimedia/wikipedia", name="20231101.de")
