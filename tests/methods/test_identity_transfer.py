"""The identity test (issue 19): the shipped hypernet applied to the base model's own tokenizer, with
the default copy policy, scores within 2% of the original model's bits per byte in every evaluation
language. Fast: two languages, two short held-out Bible passages each; slow: every language of the
corpus' held-out split the benchmark scores, plus English and code."""

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from zett import assets
from zett.eval.model_bpb import evaluate_bpb
from zett.heuristics import SourceEmbeddings
from zett.methods import Target, parse_method
from zett.models import load_pretrained
from zett.tokenization import canonicalize, load_tokenizer

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "experiments" / "smollm2" / "hypernet"
TOLERANCE = 0.02  # the bar: within 2% of the original model


def _setup():
    model = load_pretrained("smollm2")
    tok = load_tokenizer("smollm2")
    vocab = canonicalize(tok)
    source = SourceEmbeddings(vocab, np.asarray(model.get_input_embeddings()), tokenizer=tok)
    tables = parse_method(f"hypernet:{SHIPPED}").run(source, Target(tok, vocab))
    prefix = (vocab.special("bos") or vocab.special("eos")).id
    return model, tok, vocab, tables, prefix


def _relative_gaps(texts_by_lang: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    model, tok, vocab, tables, prefix = _setup()
    out = {}
    for lang, texts in texts_by_lang.items():
        original = evaluate_bpb(model, tok.tokenizer, texts, prefix, progress=False)
        moved = evaluate_bpb(
            model,
            tok.tokenizer,
            texts,
            prefix,
            input_embeddings=tables.input_embeddings,
            special_ids=vocab.special_ids,
            progress=False,
        )
        out[lang] = (original.bits_per_byte, moved.bits_per_byte)
    return out


def _bible(code: str, n: int, chars: int) -> list[str]:
    """`n` passages of ≤ `chars` characters from Revelation (a book late in the canon)."""
    con = sqlite3.connect(assets.bible_db())
    verses = [
        t
        for (t,) in con.execute(
            "select vText from bible where bbName=? and bNumber=66 order by id", (code,)
        )
    ]
    text = " ".join(verses)
    return [text[i * chars : (i + 1) * chars] for i in range(n)]


def _check(results: dict[str, tuple[float, float]]) -> None:
    bad = {
        lang: (orig, moved)
        for lang, (orig, moved) in results.items()
        if abs(moved - orig) > TOLERANCE * orig
    }
    assert not bad, f"bits/byte (original, shipped hypernet on its own tokenizer): {bad}"


def test_identity_fast():
    _check(_relative_gaps({"en": _bible("k", 2, 400), "de": _bible("s", 2, 400)}))


@pytest.mark.slow
def test_identity_every_language():
    corpus = ROOT / "data" / "corpus"
    if not (corpus / "manifest.json").is_file():
        pytest.skip("needs the built corpus: zett data build --out data/corpus")
    from zett.sampling import CorpusTexts

    texts = {}
    for lang in ("en", "de", "fr", "ru", "ar", "hi", "zh", "py"):
        held = CorpusTexts.load(str(corpus), "heldout", (lang,))
        texts[lang] = [held[i][0][:1500] for i in range(min(8, len(held)))]
    _check(_relative_gaps(texts))
