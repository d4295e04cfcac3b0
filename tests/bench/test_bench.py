"""zett bench on a tiny random decoder: table shape, original ratio 1, resume, plots, clear errors."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from zett import assets
from zett.bench import Bench, BenchConfig, make_bytes_tokenizer, plan_cells, run_bench


def _write_corpus(root, verses):
    (root / "train").mkdir(parents=True)
    (root / "heldout").mkdir()
    langs = {}
    for lang, chunk in (("xx", verses[: len(verses) // 2]), ("yy", verses[len(verses) // 2 :])):
        held, train = chunk[:6], chunk[6:]
        for split, texts in (("train", train), ("heldout", held)):
            (root / split / f"{lang}.jsonl").write_text(
                "".join(json.dumps({"text": t, "lang": lang}) + "\n" for t in texts)
            )
        langs[lang] = {
            "name": lang,
            "splits": {s: {"file": f"{s}/{lang}.jsonl"} for s in ("train", "heldout")},
        }
    (root / "manifest.json").write_text(json.dumps({"format": "zett-corpus/1", "languages": langs}))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from zett.models import save_pretrained
    from zett.models.decoder import tiny_config
    from zett.models.registry import build_model

    con = sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True)
    verses = [
        r[0]
        for r in con.execute(
            "SELECT vText FROM bible WHERE (id % 41)=0 AND bbName IN ('a','b','c') LIMIT 1200"
        )
    ]
    con.close()
    root = tmp_path_factory.mktemp("bench")
    _write_corpus(root / "corpus", verses)
    tok_dir = root / "tok"
    tok_dir.mkdir()
    make_bytes_tokenizer().save(str(tok_dir / "tokenizer.json"))
    model = build_model(tiny_config(vocab_size=257), seed=0)
    save_pretrained(model, root / "model", [tok_dir / "tokenizer.json"])
    return root


def _config(root, out, **kw):
    base = dict(
        models=(str(root / "model"),),
        tokenizers=("unigram:xx:400", "bytes"),
        languages=("xx", "yy"),
        methods=("original", "fvt", "random"),
        texts_per_language=2,
        max_len=64,
        corpus=str(root / "corpus"),
        output=str(out),
        unigram_train_texts=500,
    )
    base.update(kw)
    return BenchConfig(**base)


def test_bench_table_ratio_resume_plots(setup, tmp_path):
    config = _config(setup, tmp_path / "out")
    cells = plan_cells(config)
    # originals per language + unigram:xx on its own language only + bytes on both
    assert len(cells) == 2 + 2 * 1 + 2 * 2
    records = run_bench(config, progress=False, log=lambda s: None)
    assert len(records) == len(cells)
    out = tmp_path / "out"
    doc = json.loads((out / "results.json").read_text())
    rows = doc["results"]
    for r in rows:
        assert r["bits_per_byte"] > 0 and r["bytes_per_token"] > 0
        if r["method"] == "original":
            assert r["ratio_to_original"] == pytest.approx(1.0)
    # the byte tokenizer is one token per UTF-8 byte, so its compression is exactly 1
    assert all(
        r["bytes_per_token"] == pytest.approx(1.0) for r in rows if r["tokenizer"] == "bytes"
    )
    # every method of a language is scored on the same bytes
    for lang in ("xx", "yy"):
        assert len({r["n_bytes"] for r in rows if r["language"] == lang}) == 1
    # fvt on `bytes` (the model's own vocabulary) copies every row, so it scores exactly like the
    # original: the conditioning row evaluate_bpb appends is an input only, never a competing logit
    # (it used to add log2(1 + p_eos) bits per token, ~0.005 bits/byte here)
    orig = {r["language"]: r["bits_per_byte"] for r in rows if r["method"] == "original"}
    fvt_bytes = {
        r["language"]: r["bits_per_byte"]
        for r in rows
        if r["tokenizer"] == "bytes" and r["method"] == "fvt"
    }
    assert fvt_bytes["xx"] == pytest.approx(orig["xx"], abs=1e-5)

    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == len(cells)
    md = (out / "results.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| tokenizer"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "tokenizer",
        "language",
        "B/tok",
        "original",
        "fvt",
        "random",
    ]
    body = [
        line
        for line in md.splitlines()
        if line.startswith("| ") and not line.startswith("| tokenizer")
    ]
    assert {tuple(c.strip() for c in line.strip("|").split("|")[:2]) for line in body} == {
        ("original", "xx"),
        ("original", "yy"),
        ("unigram:xx:400", "xx"),
        ("bytes", "xx"),
        ("bytes", "yy"),
    }
    assert (out / "compression.png").stat().st_size > 1000
    assert list(out.glob("bpb_*.png"))
    assert (out / "tokenizers" / "unigram-xx-400.json").exists()

    # resume: a rerun computes nothing; a dropped line is recomputed alone
    lines = (out / "cells.jsonl").read_text().splitlines()
    (out / "cells.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    computed = []
    bench = Bench(config, log=lambda s: None)
    orig_run_cell = bench.run_cell
    bench.run_cell = lambda c: computed.append(c) or orig_run_cell(c)
    bench.run(progress=False)
    assert [c.key for c in computed] == [cells[-1].key]
    assert len((out / "cells.jsonl").read_text().splitlines()) == len(cells)


def test_focus_on_the_models_own_vocabulary_scores_like_the_original(setup, tmp_path):
    # every `bytes` token is a source token, so FOCUS copies every row and has nothing to guess
    config = _config(
        setup,
        tmp_path / "o",
        tokenizers=("bytes",),
        languages=("xx",),
        methods=("original", "focus"),
        plots=False,
    )
    orig, focus = run_bench(config, progress=False, log=lambda s: None)
    assert focus["method"] == "focus" and focus["n_bytes"] == orig["n_bytes"]
    assert focus["bits_per_byte"] == pytest.approx(orig["bits_per_byte"], abs=1e-5)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(methods=("nope",)), "unknown method 'nope'"),
        (dict(tokenizers=("no/such/tok.json",)), "unknown tokenizer"),
        (dict(tokenizers=("unigram:xx",)), "unigram:<lang>:<vocab_size>"),
        (dict(models=("no/such/model",)), "unknown model"),
        (dict(methods=("hypernet:/no/such/dir",)), "hypernetwork directory"),
    ],
)
def test_clear_errors(setup, tmp_path, kw, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        Bench(_config(setup, tmp_path, **kw))


def test_plan_skips_own_tokenizer_and_foreign_hypernets(setup, tmp_path):
    import shutil

    model_a, model_b = str(setup / "model"), str(tmp_path / "model_b")
    shutil.copytree(model_a, model_b)
    hn = tmp_path / "hn"
    hn.mkdir()
    (hn / "hypernet.json").write_text(json.dumps({"base_model": model_a}))
    config = _config(
        setup,
        tmp_path / "out",
        models=(model_a, model_b),
        tokenizers=(model_a, "bytes"),
        languages=("xx",),
        methods=("original", f"hypernet:{hn}", "fvt"),
    )
    keys = {c.key for c in plan_cells(config)}
    # model A on its own tokenizer is its original row; model B gets it as a target
    assert not any(k[0] == model_a and k[1] == model_a for k in keys)
    assert (model_b, model_a, "xx", "fvt") in keys
    # the hypernet was trained for A: it runs there, and never on B
    assert (model_a, "bytes", "xx", f"hypernet:{hn}") in keys
    assert not any(k[0] == model_b and k[3].startswith("hypernet:") for k in keys)
