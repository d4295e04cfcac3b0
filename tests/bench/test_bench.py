"""zett bench on a tiny random decoder: in- and out-of-domain side by side (a missing language is a
missing cell), bootstrap intervals, passages from distinct units, resume, FOCUS fitted once on all
training text, the same conditioning and special rows for every method, clear errors."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3

import numpy as np
import pytest
from flax import nnx

from zett import assets
from zett.bench import (
    Bench,
    BenchConfig,
    Domain,
    Probe,
    make_bytes_tokenizer,
    plan_cells,
    run_bench,
)
from zett.eval.protocol import ScoringProtocol
from zett.hypernet.checkpoint import save_hypernet
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Hypernet

PROTOCOL = ScoringProtocol(context_bytes=48, stride_bytes=32, batch_tokens=512)


def _write_corpus(root, chapters: dict[str, dict[tuple[int, int], str]], splits, held_chapters):
    """Records {text, lang, source, doc} per language; a chapter's verses are one unit."""
    langs = {}
    for split in splits:
        (root / split).mkdir(parents=True, exist_ok=True)
    for lang, by_chapter in chapters.items():
        records = {s: [] for s in splits}
        for (book, chap), verses in by_chapter.items():
            split = "heldout" if (book, chap) in held_chapters else "train"
            if split not in records:
                continue
            for text in verses:
                doc = f"bible/T{lang}/{book}/{chap}"
                records[split].append({"text": text, "lang": lang, "source": "bible", "doc": doc})
        for split, recs in records.items():
            if recs:
                (root / split / f"{lang}.jsonl").write_text(
                    "".join(json.dumps(r) + "\n" for r in recs)
                )
        langs[lang] = {
            "name": lang,
            "splits": {s: {"file": f"{s}/{lang}.jsonl"} for s in records if records[s]},
        }
    (root / "manifest.json").write_text(json.dumps({"format": "zett-corpus/1", "languages": langs}))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from zett.models import save_pretrained
    from zett.models.decoder import tiny_config
    from zett.models.registry import build_model

    con = sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True)
    chapters = {}
    for lang, bb in (("xx", "k"), ("yy", "l")):
        rows = con.execute(
            "SELECT bNumber, cNumber, vText FROM bible WHERE bbName=? AND bNumber=1 AND cNumber<=12 "
            "AND vNumber<=6 ORDER BY id",
            (bb,),
        ).fetchall()
        by = {}
        for b, c, t in rows:
            by.setdefault((b, c), []).append(t[:60])
        chapters[lang] = by
    con.close()
    root = tmp_path_factory.mktemp("bench")
    held = {(1, c) for c in (2, 5, 7, 11)}
    _write_corpus(root / "corpus", chapters, ("train", "heldout"), held)
    # out-of-domain: another "source" with held-out text for xx only
    ood = {
        "xx": {
            (9, c): [f"Man page {c}, line {i}: options -v -q." for i in range(3)] for c in (1, 2, 3)
        }
    }
    _write_corpus(root / "ood", ood, ("heldout",), {(9, c) for c in (1, 2, 3)})
    tok_dir = root / "tok"
    tok_dir.mkdir()
    make_bytes_tokenizer().save(str(tok_dir / "tokenizer.json"))
    model = build_model(tiny_config(vocab_size=257), seed=0)
    save_pretrained(model, root / "model", [tok_dir / "tokenizer.json"])
    hn = Hypernet(
        HypernetConfig(hidden_size=32, intermediate_size=64, num_layers=1),
        np.asarray(model.get_input_embeddings()),
        rngs=nnx.Rngs(0),
    )
    save_hypernet(root / "hn", hn, str(root / "model"), str(tok_dir / "tokenizer.json"))
    return root


def _config(root, out, **kw):
    base = dict(
        models=(str(root / "model"),),
        tokenizers=("unigram:xx:120", "bytes"),
        languages=("xx", "yy"),
        methods=("original", "fvt", "random"),
        domains=(
            Domain("in-domain", str(root / "corpus"), "heldout"),
            Domain("ood", str(root / "ood"), "heldout"),
        ),
        texts_per_language=6,
        min_units=3,
        protocol=PROTOCOL,
        corpus=str(root / "corpus"),
        output=str(out),
        unigram_train_texts=500,
        bootstrap_samples=200,
    )
    base.update(kw)
    return BenchConfig(**base)


def test_bench_domains_intervals_resume_plots(setup, tmp_path):
    config = _config(setup, tmp_path / "out")
    cells = plan_cells(config)
    # originals per language and domain + unigram:xx on its own language + bytes on both
    assert len(cells) == 2 * 2 + 2 * 1 * 2 + 2 * 2 * 2
    records = run_bench(config, progress=False, log=lambda s: None)
    assert [
        (r["model"], r["tokenizer"], r["language"], r["method"], r["domain"], r["steps"])
        for r in records
    ] == [c.key for c in cells]
    missing = [r for r in records if "missing" in r]
    assert {(r["language"], r["domain"]) for r in missing} == {("yy", "ood")}
    assert "not in corpus" in missing[0]["missing"]
    scored = [r for r in records if "missing" not in r]
    for r in scored:
        assert r["n_texts"] == 6
        assert r["n_units"] == (4 if r["domain"] == "in-domain" else 3)  # every unit used
        assert len(r["doc_bits"]) == r["n_texts"] and sum(r["doc_bytes"]) == r["n_bytes"]
    # every method of a (language, domain) is scored on the same passages
    for key in {(r["language"], r["domain"]) for r in scored}:
        assert (
            len({json.dumps(r["docs"]) for r in scored if (r["language"], r["domain"]) == key}) == 1
        )
    assert all(r["bytes_per_token"] == 1.0 for r in scored if r["tokenizer"] == "bytes")

    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    rows = {(r["tokenizer"], r["language"], r["method"], r["domain"]): r for r in doc["results"]}
    # FVT onto the model's own byte vocabulary copies every row: exactly the original, so its
    # difference is 0 with a zero-width interval, which the table marks as including 0
    fvt = rows[("bytes", "xx", "fvt", "in-domain")]
    assert fvt["doc_bits"] == rows[("original", "xx", "original", "in-domain")]["doc_bits"]
    assert (fvt["diff_original"], fvt["diff_original_low"], fvt["diff_original_high"]) == (0, 0, 0)
    rnd = rows[("unigram:xx:120", "xx", "random", "ood")]
    ref = rows[("unigram:xx:120", "xx", "fvt", "ood")]
    expected = (sum(rnd["doc_bits"]) - sum(ref["doc_bits"])) / rnd["n_bytes"]
    assert rnd["diff_fvt"] == pytest.approx(expected)
    assert rnd["diff_fvt_low"] <= rnd["diff_fvt"] <= rnd["diff_fvt_high"]
    assert rnd["model_name"] == str(setup / "model")

    out = tmp_path / "out"
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == len(cells)
    md = (out / "results.md").read_text()
    assert "| bytes | xx | in-domain | 1.00 |" in md and "| bytes | xx | ood | 1.00 |" in md
    assert "≈ +0.000 [+0.000, +0.000]" in md
    # the original's difference to FVT (its column in the FVT table) is −FVT's to the original
    fvt_u = rows[("unigram:xx:120", "xx", "fvt", "in-domain")]
    lo, hi = -fvt_u["diff_original_high"], -fvt_u["diff_original_low"]
    assert (
        f"| unigram:xx:120 | xx | in-domain | {-fvt_u['diff_original']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        in md
    )
    assert "ood × yy missing" in md
    assert (out / "compression.png").stat().st_size > 1000
    assert len(list(out.glob("bpb_*.png"))) == 2  # one per domain
    assert len(list(out.glob("diff_fvt_*.png"))) == 2  # the intervals, one per domain

    # resume: a rerun computes nothing; a dropped line is recomputed alone; other settings redo all
    lines = (out / "cells.jsonl").read_text().splitlines()
    (out / "cells.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    computed = []
    bench = Bench(config, log=lambda s: None)
    orig_run_cell = bench.run_cell
    bench.run_cell = lambda c: computed.append(c) or orig_run_cell(c)
    bench.run(progress=False)
    assert [c.key for c in computed] == [cells[-1].key]
    other = _config(setup, out, protocol=ScoringProtocol(context_bytes=32, stride_bytes=16))
    assert Bench(other, log=lambda s: None).done() == {}
    # a cell recorded without (or under other) method options is computed again: a changed default
    recs = [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]
    stale = next(i for i, r in enumerate(recs) if r["method"] == "random")
    del recs[stale]["method_options"]
    (out / "cells.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    computed.clear()
    bench = Bench(config, log=lambda s: None)
    bench.run_cell = lambda c: computed.append(c) or orig_run_cell(c)
    bench.run(progress=False)
    assert [c.method for c in computed] == ["random"]
    # a line of a method no longer in the config (its hypernet directory gone) is not even parsed
    before = Bench(config, log=lambda s: None).done()
    gone = {**recs[0], "method": "hypernet:/no/such/dir", "method_options": {}}
    with open(out / "cells.jsonl", "a") as f:
        f.write(json.dumps(gone) + "\n")
    assert Bench(config, log=lambda s: None).done() == before


def test_method_options_resolve_defaults_and_fingerprint_the_hypernet(setup, tmp_path):
    import shutil

    from zett.bench.runner import method_options

    assert method_options("original") == {}
    assert method_options("random") == method_options("random,copy=true") == {"copy": True}
    assert method_options("random,copy=false") == {"copy": False}
    hn = tmp_path / "hn"
    shutil.copytree(setup / "hn", hn)
    default = method_options(f"hypernet:{hn}")
    assert default["copy_overlap"] is True and len(default["sha256"]) == 64
    assert default == method_options(f"hypernet:{hn},copy_overlap=true")
    assert method_options(f"hypernet:{hn},copy_overlap=false")["copy_overlap"] is False
    weights = hn / "hypernet.safetensors"
    weights.write_bytes(weights.read_bytes() + b" ")  # other weights at the same path
    assert method_options(f"hypernet:{hn}")["sha256"] != default["sha256"]


def test_focus_fits_fasttext_once_on_all_training_text(setup, tmp_path, monkeypatch):
    import zett.bench.tables as tables

    calls = []
    real = tables.train_token_vectors

    def counting(texts, tokenizer, **kw):
        calls.append(len(texts))
        return real(texts, tokenizer, **{**kw, "min_count": 1})

    monkeypatch.setattr(tables, "train_token_vectors", counting)
    config = _config(
        setup,
        tmp_path / "o",
        tokenizers=("unigram:xx:120", "bytes"),
        methods=("focus",),
        plots=False,
    )
    records = run_bench(config, progress=False, log=lambda s: None)
    n_train = {
        lang: len((setup / "corpus" / "train" / f"{lang}.jsonl").read_text().splitlines())
        for lang in ("xx", "yy")
    }
    # one fit per tokenizer, on every training text of the languages it serves
    assert calls == [n_train["xx"], n_train["xx"] + n_train["yy"]]
    unigram = json.loads((tmp_path / "o" / "tokenizers" / "unigram-xx-120.json").read_text())
    # the model's vocabulary is bytes: the pieces that are one byte (▁ = space) are copied
    ascii_pieces = sum(
        len(p.replace("▁", " ").encode()) == 1 for p, _ in unigram["model"]["vocab"][3:]
    )
    for r in records:
        if "missing" in r:
            continue
        if r["tokenizer"] == "bytes":  # every token is a source token: nothing to guess
            assert (r["focus_vectors"], r["focus_fallback"]) == (0, 0)
        else:  # every piece but the one-byte ones and </s> (→ the model's eos) is guessed
            assert r["focus_vectors"] > 0
            assert r["focus_vectors"] + r["focus_fallback"] == 120 - 1 - ascii_pieces
    assert len(list((tmp_path / "o" / "focus").glob("*.npz"))) == 2
    # a second bench on the same output reuses the fitted vectors
    (tmp_path / "o" / "cells.jsonl").unlink()
    run_bench(config, progress=False, log=lambda s: None)
    assert len(calls) == 2


def test_every_method_gets_the_same_conditioning_and_special_rows(setup, tmp_path, monkeypatch):
    import zett.bench.runner as runner
    from zett.eval.bpb import BpbResult

    seen = {}

    def record(model, tokenizer, texts, prefix_row, input_embeddings=None, **kw):
        table = np.asarray(
            model.get_input_embeddings() if input_embeddings is None else input_embeddings
        )
        ids = list(kw["special_ids"])
        seen[runner_cell["method"]] = (prefix_row, ids, table[ids].copy())
        n = sum(len(t.encode()) for t in texts)
        return BpbResult(
            1.0, n, n, doc_bits=(1.0,) * len(texts), doc_bytes=tuple(len(t.encode()) for t in texts)
        )

    runner_cell = {}
    monkeypatch.setattr(runner, "evaluate_bpb", record)
    methods = (
        "fvt",
        "lexical",
        "mean",
        "mean_noise",
        "mvn",
        "random",
        "focus",
        f"hypernet:{setup / 'hn'}",
    )
    config = _config(
        setup,
        tmp_path / "s",
        tokenizers=("unigram:xx:120",),
        languages=("xx",),
        methods=("original", *methods),
        domains=(Domain("in-domain", str(setup / "corpus")),),
        plots=False,
    )
    bench = Bench(config, log=lambda s: None)
    for cell in plan_cells(config):
        runner_cell["method"] = cell.method
        bench.run_cell(cell)
    assert set(seen) == {"original", *methods}
    prefixes = {p for p, _, _ in seen.values()}
    assert prefixes == {256}  # the source model's <|endoftext|> row conditions every window
    _, ids, rows = seen["fvt"]
    assert len(ids) == 3  # <unk>, <s>, </s>
    source = np.asarray(bench.model(str(setup / "model")).get_input_embeddings())
    # the bytes model has only <|endoftext|> (eos): </s> takes its row, the others the mean row
    np.testing.assert_array_equal(rows[2], source[256])
    np.testing.assert_allclose(rows[0], source.mean(0), rtol=1e-6)
    for m in methods:
        np.testing.assert_array_equal(seen[m][2], rows, err_msg=m)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(methods=("nope",)), "unknown method 'nope'"),
        (dict(tokenizers=("no/such/tok.json",)), "unknown tokenizer"),
        (dict(tokenizers=("unigram:xx",)), "unigram:<lang>:<vocab_size>"),
        (dict(models=("no/such/model",)), "unknown model"),
        (dict(methods=("hypernet:/no/such/dir",)), "no such hypernet directory"),
        (dict(methods=("omp,k=0",)), "omp: k must be ≥ 1"),
        (dict(donors=("/no/such/donor.gguf",)), "donor model '/no/such/donor.gguf'"),
        (dict(probe=Probe(steps=2, methods=("mean",))), "probe.methods: 'mean'"),
        (dict(domains=(Domain("ood", "/no/such/corpus"),)), "no manifest.json"),
        (dict(texts_per_language=2, min_units=3), "min_units"),
    ],
)
def test_clear_errors(setup, tmp_path, kw, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        Bench(_config(setup, tmp_path, **kw))


def test_a_probe_switched_off_selects_nothing(setup, tmp_path):
    """probe.steps=0 (a stage that runs other methods) does not validate the probe's selection."""
    off = Probe(steps=0, methods=("mean",), tokenizers=("gemma3",))
    assert not any(c.steps for c in plan_cells(_config(setup, tmp_path, probe=off)))
    Bench(_config(setup, tmp_path, probe=off), log=lambda s: None)
    with pytest.raises(ValueError, match="probe.tokenizers: 'gemma3'"):
        Bench(_config(setup, tmp_path, probe=Probe(steps=1, tokenizers=("gemma3",))))


def test_too_few_units_is_a_missing_cell(setup, tmp_path):
    config = _config(
        setup,
        tmp_path / "u",
        tokenizers=(),
        methods=("original",),
        languages=("xx",),
        min_units=4,
        texts_per_language=4,
        plots=False,
    )
    inside, ood = run_bench(config, progress=False, log=lambda s: None)
    assert inside["n_units"] == 4 and "bits_per_byte" in inside
    assert "3 units" in ood["missing"] and "need at least 4" in ood["missing"]


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
        domains=(Domain("in-domain", str(setup / "corpus")),),
    )
    keys = {c.key[:4] for c in plan_cells(config)}
    # model A on its own tokenizer is its original row; model B gets it as a target
    assert not any(k[0] == model_a and k[1] == model_a for k in keys)
    assert (model_b, model_a, "xx", "fvt") in keys
    # the hypernet was trained for A: it runs there, and never on B
    assert (model_a, "bytes", "xx", f"hypernet:{hn}") in keys
    assert not any(k[0] == model_b and k[3].startswith("hypernet:") for k in keys)


def test_donor_methods_run_only_where_a_donor_uses_the_tokenizer(setup, tmp_path):
    """omp/clp need a donor whose tokenizer is the target: planned for the listed donor model's
    tokenizer, not for a Unigram tokenizer (no model uses it). The donor here is a copy of the
    model itself, so every target token is shared and copied: exactly the original's bits."""
    import shutil

    model, donor = str(setup / "model"), str(tmp_path / "donor")
    shutil.copytree(model, donor)
    config = _config(
        setup,
        tmp_path / "out",
        tokenizers=(donor, "unigram:xx:120"),
        languages=("xx",),
        methods=("original", "omp", "clp"),
        domains=(Domain("in-domain", str(setup / "corpus")),),
        donors=(donor,),
        plots=False,
    )
    cells = plan_cells(config)
    assert {(c.tokenizer, c.method) for c in cells} == {
        ("original", "original"),
        (donor, "omp"),
        (donor, "clp"),
    }
    logs = []
    records = {r["method"]: r for r in run_bench(config, progress=False, log=logs.append)}
    assert any("unigram:xx:120 × omp: no donor" in line for line in logs)
    for m in ("omp", "clp"):
        assert records[m]["doc_bits"] == records["original"]["doc_bits"], m


def test_probe_column_same_data_for_every_method(setup, tmp_path):
    """ "after N steps": every method's tables trained N steps on the same batches, scored on the
    same passages; the numbers equal zett.finetune.probe run by hand on the zero-shot tables."""
    from zett.bench.tables import same_special_rows
    from zett.eval.model_bpb import evaluate_bpb
    from zett.finetune.probe import ProbeConfig, probe
    from zett.heuristics import SourceEmbeddings, random_init
    from zett.models import load_pretrained
    from zett.tokenization import canonicalize, load_tokenizer

    config = _config(
        setup,
        tmp_path / "p",
        tokenizers=("unigram:xx:120",),
        languages=("xx",),
        methods=("original", "fvt", "random"),
        domains=(Domain("in-domain", str(setup / "corpus")),),
        probe=Probe(steps=3, batch_size=2, block_size=16, lr=1e-2, train_texts=40),
        plots=False,
    )
    cells = plan_cells(config)
    assert [(c.method, c.steps) for c in cells] == [
        ("original", 0),
        ("fvt", 0),
        ("fvt", 3),
        ("random", 0),
        ("random", 3),
    ]
    records = run_bench(config, progress=False, log=lambda s: None)
    by = {(r["method"], r["steps"]): r for r in records}
    assert by[("fvt", 3)]["probe_data"] == by[("random", 3)]["probe_data"]
    assert by[("fvt", 3)]["docs"] == by[("fvt", 0)]["docs"]
    for m in ("fvt", "random"):
        assert by[(m, 3)]["bits_per_byte"] != by[(m, 0)]["bits_per_byte"]

    # the same by hand: random tables (seed 0) + the probe's public function + the scoring
    model = load_pretrained(str(setup / "model"))
    src = load_tokenizer(str(setup / "model"))
    tok = load_tokenizer(str(tmp_path / "p" / "tokenizers" / "unigram-xx-120.json"))
    source = SourceEmbeddings(canonicalize(src), np.asarray(model.get_input_embeddings()))
    vocab = canonicalize(tok)
    tables = same_special_rows(random_init(source, vocab, seed=0), source, vocab)
    train = [
        json.loads(line)["text"]
        for line in (setup / "corpus" / "train" / "xx.jsonl").read_text().splitlines()[:40]
    ]
    tuned = probe(
        model, tok, tables, train, ProbeConfig(steps=3, batch_size=2, block_size=16, lr=1e-2)
    )
    r = by[("random", 3)]
    want = evaluate_bpb(
        model,
        tok.tokenizer,
        Bench(config, log=lambda s: None).passages("in-domain", "xx").texts,
        prefix_row=256,
        input_embeddings=tuned.input_embeddings,
        special_ids=vocab.special_ids,
        unk_id=vocab.special("unk").id,
        protocol=PROTOCOL,
        progress=False,
    )
    assert r["bits_per_byte"] == pytest.approx(want.bits_per_byte, rel=1e-6)
    md = (tmp_path / "p" / "results.md").read_text()
    assert "| original | fvt | fvt +3 | random | random +3 |" in md
    assert "ranking zero-shot → after N probe steps" in md

    # another learning rate: only the probed cells are stale, the zero-shot ones stay done
    relr = Bench(
        dataclasses.replace(config, probe=dataclasses.replace(config.probe, lr=5e-3)),
        log=lambda s: None,
    )
    assert {k[3:] for k in relr.done()} == {
        ("original", "in-domain", 0),
        ("fvt", "in-domain", 0),
        ("random", "in-domain", 0),
    }
    # which methods are probed is a choice of cells, not a setting of their numbers
    only_fvt = dataclasses.replace(
        config, probe=dataclasses.replace(config.probe, methods=("fvt",))
    )
    assert {c.key for c in plan_cells(only_fvt)} <= set(Bench(only_fvt, log=lambda s: None).done())
    # records written before the probe settings left the zero-shot cells (they carried them)
    path = tmp_path / "p" / "cells.jsonl"
    old = [json.loads(line) for line in path.read_text().splitlines()]
    for rec in old:
        rec["settings"].setdefault("probe", dataclasses.asdict(Probe()))
    path.write_text("".join(json.dumps(rec) + "\n" for rec in old))
    assert len(Bench(config, log=lambda s: None).done()) == len(cells)


def _equation_holds(line: str) -> bool:
    left, right = line.replace(" ", "").split("=")
    for op in "+*":
        if op in left:
            a, b = left.split(op)
            return (int(a) + int(b) if op == "+" else int(a) * int(b)) == int(right)
    a, b = left.rsplit("-", 1)
    return int(a) - int(b) == int(right)


def test_arithmetic_probe_is_a_language_scored_once_on_every_tokenizer(setup, tmp_path):
    """`arith`: generated equations, scored under the first domain only (missing in the others),
    planned on a Unigram tokenizer next to its own language; the probe's train equations are
    another stream than the scored ones."""
    from zett.bench.texts import train_texts

    config = _config(
        setup,
        tmp_path / "a",
        languages=("xx", "arith"),
        methods=("original", "fvt"),
        texts_per_language=6,
        min_units=6,
        plots=False,
    )
    planned = {(c.tokenizer, c.language) for c in plan_cells(config)}
    assert ("unigram:xx:120", "arith") in planned and ("bytes", "arith") in planned
    records = run_bench(config, progress=False, log=lambda s: None)
    texts = Bench(config, log=lambda s: None).passages("in-domain", "arith").texts
    arith = [r for r in records if r["language"] == "arith"]
    scored = [r for r in arith if "missing" not in r]
    assert {r["domain"] for r in scored} == {"in-domain"}
    assert all("no domains" in r["missing"] for r in arith if r["domain"] == "ood")
    assert {r["tokenizer"] for r in scored} == {"original", "unigram:xx:120", "bytes"}
    for r in scored:
        assert r["n_texts"] == 6 and r["n_units"] == 6 and r["bits_per_byte"] > 0
        split = r["digit_split"]
        if r["tokenizer"] != "unigram:xx:120":  # trained on text without digits: all <unk>
            # the bytes tokenizer (and the model's, the same) gives every digit its own token
            assert split["digits"] == sum(ch.isdigit() for t in texts for ch in t)
            assert split["digit_tokens"] == split["digits"]
    assert all("digit_split" not in r for r in records if r["language"] != "arith")
    lines = [line for t in texts for line in t.split("\n")]
    assert len(lines) == 6 * 48 and all(_equation_holds(line) for line in lines)
    train = train_texts(config.corpus, ["arith"], 50)
    assert len(train) == 50 and not set(train) & set(texts)
