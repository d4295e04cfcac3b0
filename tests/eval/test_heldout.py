"""Held out means held out: every evaluation path (demo, notebook, eval script, bench selection,
training validation) scores only passages of units that the standard corpus config holds out, in
every translation; passages are picked round-robin over units."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zett.bench import BenchConfig, Domain
from zett.bench.texts import evaluation_passages
from zett.data import CorpusConfig, build_corpus
from zett.data.build import is_heldout
from zett.data.sources import bible
from zett.demo import DemoConfig, split_texts
from zett.eval.heldout import bible_split, record_unit, select_passages
from zett.sampling import CorpusTexts

REPO = Path(__file__).resolve().parents[2]
STANDARD = CorpusConfig()


def chapters(lang: str) -> dict[str, list[str]]:
    """unit → the chapter's text in every translation (straight from the packaged source)."""
    out: dict[str, list[str]] = {}
    for d in bible.iter_documents(lang):
        out.setdefault(d.unit, []).append(d.joiner.join(d.segments))
    return out


def units_containing(text: str, by_unit: dict[str, list[str]]) -> set[str]:
    return {u for u, texts in by_unit.items() if any(text in t for t in texts)}


def test_record_unit_per_source():
    assert record_unit({"doc": "bible/ELB1932/42/10", "source": "bible"}) == "bible/42/10"
    assert (
        record_unit({"doc": "debian-docs/manpages-de/man/sane-p5.5", "source": "debian-docs"})
        == "debian-docs/man/sane-p5.5"
    )
    assert (
        record_unit({"doc": "python-code/email/mime/text.py", "source": "python-code"})
        == "python-code/email/mime"
    )
    assert record_unit({"doc": "x/y", "unit": "u1"}) == "u1"
    assert record_unit({"doc": "ood/page-3", "source": "ood"}) == "ood/page-3"


def test_round_robin_over_units():
    recs = [
        {"doc": f"bible/T/1/{c}", "text": f"{c}-{i}"}
        for c, n in ((1, 5), (2, 1), (3, 2))
        for i in range(n)
    ]
    picked = select_passages(recs, 4, min_units=3)
    units = [record_unit(r) for r in picked]
    assert set(units[:3]) == {"bible/1/1", "bible/1/2", "bible/1/3"}  # every unit before a second
    assert units[3] in ("bible/1/1", "bible/1/3")
    assert select_passages(recs, 4, seed=0) == picked  # seeded
    with pytest.raises(ValueError, match="3 units .* need at least 4"):
        select_passages(recs, 8, min_units=4, where="test")


@pytest.mark.parametrize("lang", ["de", "fr", "ru"])
def test_demo_notebook_and_script_text_is_held_out_in_every_translation(lang):
    by_unit = chapters(lang)
    train, held = split_texts(DemoConfig(lang=lang, heldout_texts=24))
    held_units = set()
    for text in held:
        found = units_containing(text, by_unit)
        assert found and all(is_heldout(u, STANDARD) for u in found), found
        held_units |= found
    assert len(held) == 24 and len(held_units) >= 8
    # the demo's Unigram tokenizer and FOCUS train on train chapters only
    train_set = set(train)
    for unit, texts in by_unit.items():
        assert all((t in train_set) != is_heldout(unit, STANDARD) for t in texts), unit


def test_notebook_and_eval_script_take_text_from_the_demo_split():
    nb = json.loads((REPO / "notebooks" / "quickstart.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    script = (REPO / "experiments" / "smollm2" / "eval_hypernet.py").read_text()
    for source in (code, script):
        assert "split_texts(DemoConfig(" in source
        assert not any(s in source for s in ("load_texts", "iter_documents", "bible_db", "sqlite"))


def test_bible_split_records_carry_held_out_units():
    split = bible_split("hi", 16)
    assert all(is_heldout(r["unit"], STANDARD) for r in split.heldout)
    assert len({r["unit"] for r in split.heldout}) >= 8


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "c"
    build_corpus(
        out,
        CorpusConfig(
            langs=("de",),
            sources=("bible",),
            max_chars_per_lang=100_000,
            max_heldout_chars_per_lang=60_000,  # budgets only; the unit split is the standard one
        ),
    )
    return out


def test_bench_selection_and_training_validation_are_held_out(corpus):
    train_units = {
        record_unit(json.loads(line))
        for line in (corpus / "train" / "de.jsonl").read_text().splitlines()
    }
    config = BenchConfig(languages=("de",), corpus=str(corpus), texts_per_language=32, min_units=8)
    passages = evaluation_passages(config, Domain("in-domain", str(corpus)), "de")
    units = {record_unit(r) for r in passages.records}
    assert len(passages.records) == 32 and len(units) >= 8
    assert all(is_heldout(u, STANDARD) for u in units) and not units & train_units
    # hypernet training validates on the first validation_texts of the held-out split
    texts = CorpusTexts.load(str(corpus), "heldout", ("de",))
    docs = [texts.dataset[i]["doc"] for i in range(min(64, len(texts)))]
    val_units = {record_unit({"doc": d, "source": "bible"}) for d in docs}
    assert all(is_heldout(u, STANDARD) for u in val_units) and not val_units & train_units
