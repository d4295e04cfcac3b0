"""What each phase may touch: the embeddings phase leaves every other weight bit-identical, and with
`rows: new` also every old vocabulary row; the full phase moves the body too."""

import numpy as np
import pytest
from ft_helpers import config, metrics, weights
from tokenizers import Tokenizer

from zett.bench.tokenizers import train_unigram
from zett.finetune import finetune

VOCAB = ("model.embed_tokens.weight", "lm_head.weight")


def _run(model, corpus, work, **sections):
    result = finetune(
        config(model, corpus, work, data={"validation_texts": 0}, **sections), progress=False
    )
    assert result.out is not None
    return weights(model), weights(result.out)


@pytest.fixture(scope="module")
def embeddings_only(tmp_path_factory, tiny_untied, corpus):
    return _run(tiny_untied, corpus, tmp_path_factory.mktemp("e"), full={"steps": 0})


def test_embeddings_phase_leaves_the_body_bit_identical(embeddings_only):
    before, after = embeddings_only
    assert before.keys() == after.keys() and set(VOCAB) <= set(before)
    for name in before:
        if name in VOCAB:
            assert not np.array_equal(before[name], after[name]), name  # trained
        else:
            np.testing.assert_array_equal(before[name], after[name], err_msg=name)


def test_new_rows_only_leaves_old_rows_bit_identical(tmp_path, tiny_untied, corpus, unigram, texts):
    before, after = _run(
        tiny_untied,
        corpus,
        tmp_path,
        embeddings={"steps": 3, "lr": 3e-2, "rows": "new"},
        full={"steps": 0},
        new_rows="3:120,300:400",
    )
    new = np.zeros(400, bool)
    new[3:120] = new[300:400] = True
    # an input row gets a gradient only where the text uses its token; every head row through
    # the softmax
    used = np.zeros(400, bool)
    tok = Tokenizer.from_file(str(unigram))
    used[[i for e in tok.encode_batch(texts, add_special_tokens=False) for i in e.ids]] = True
    for name in before:
        if name not in VOCAB:
            np.testing.assert_array_equal(before[name], after[name], err_msg=name)
            continue
        np.testing.assert_array_equal(before[name][~new], after[name][~new], err_msg=name)
        moved = (before[name] != after[name]).any(axis=1)
        if name == "lm_head.weight":
            np.testing.assert_array_equal(moved, new)
        else:
            assert moved.any() and not (moved & ~(new & used)).any()


def test_new_rows_named_by_the_old_tokenizer(tmp_path, tiny_untied, unigram, texts):
    """`new_rows: <tokenizer>` = the rows whose pieces that tokenizer lacks (here a smaller Unigram
    trained on other text), read off the two vocabularies independently."""
    old_path = tmp_path / "old.json"
    train_unigram(texts[::3], 150).save(str(old_path))
    old = set(Tokenizer.from_file(str(old_path)).get_vocab())
    vocab = Tokenizer.from_file(str(unigram)).get_vocab()
    new = np.zeros(len(vocab), bool)
    for piece, i in vocab.items():
        new[i] = piece not in old
    assert 0 < new.sum() < len(vocab)
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(texts))
    before, after = _run(
        tiny_untied,
        corpus,
        tmp_path / "w",
        embeddings={"steps": 2, "lr": 3e-2, "rows": "new"},
        full={"steps": 0},
        new_rows=str(old_path),
    )
    for name in VOCAB:
        np.testing.assert_array_equal(before[name][~new], after[name][~new], err_msg=name)
        assert (before[name][new] != after[name][new]).any(), name


def test_full_phase_trains_the_body(tmp_path, tiny_tied, corpus):
    before, after = _run(tiny_tied, corpus, tmp_path, embeddings={"steps": 0})
    assert all(not np.array_equal(before[n], after[n]) for n in before)
    assert [m["phase"] for m in metrics(tmp_path)] == ["full"] * 4
