"""`hypernet:DIR` as a registry method: copy_overlap, decomposition, and the base-model check."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from flax import nnx

from zett import assets
from zett.heuristics import SourceEmbeddings
from zett.hypernet.checkpoint import load_hypernet, save_hypernet
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Hypernet
from zett.hypernet.predict import predict_embeddings
from zett.methods import MethodInputs, Target, parse_method
from zett.tokenization import BYTE_TO_CHAR, Decomposer, canonicalize, load_tokenizer

CFG = HypernetConfig(hidden_size=32, intermediate_size=64, num_layers=1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """SmolLM2's tokenizer with random [49152, 16] tables, an untrained tiny hypernet saved for
    them, and a 600-piece Unigram (Metaspace) tokenizer trained on Bible verses as the target."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    src_tok = load_tokenizer(assets.smollm2_gguf())
    src_vocab = canonicalize(src_tok)
    e_in = np.random.default_rng(0).standard_normal((src_vocab.size, 16)).astype(np.float32)
    root = tmp_path_factory.mktemp("hn")
    hn_dir = save_hypernet(
        root / "hn", Hypernet(CFG, e_in, rngs=nnx.Rngs(0)), "random-smollm2", "smollm2"
    )
    con = sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True)
    verses = [r[0] for r in con.execute("SELECT vText FROM bible WHERE (id % 41)=0 LIMIT 2000")]
    con.close()
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(
        verses,
        trainers.UnigramTrainer(
            vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>"
        ),
    )
    target = load_tokenizer(tok)
    source = SourceEmbeddings(src_vocab, e_in, tokenizer=src_tok)
    return source, Target.of(target), str(hn_dir), tok, src_tok


def _shared_rows(target_tok, source_tok) -> dict[int, int]:
    """Target id → source id for pieces spelling the same bytes, from the raw vocabularies: a
    Metaspace piece's "▁" is a space; SmolLM2's byte-level strings map bytes through GPT-2's table."""
    source_ids = source_tok.tokenizer.get_vocab(with_added_tokens=False)
    out = {}
    for piece, t in target_tok.get_vocab(with_added_tokens=False).items():
        if piece in ("<unk>", "<s>", "</s>"):
            continue
        spelled = "".join(BYTE_TO_CHAR[b] for b in piece.replace("▁", " ").encode("utf-8"))
        if spelled in source_ids:
            out[t] = source_ids[spelled]
    return out


def test_copy_overlap_takes_the_source_row_of_every_shared_token(setup):
    source, target, hn_dir, tok, src_tok = setup
    shared = _shared_rows(tok, src_tok)
    assert len(shared) > 100  # English-heavy verses: many pieces are SmolLM2 tokens
    predicted = parse_method(f"hypernet:{hn_dir},copy_overlap=false").run(source, target)
    copied = parse_method(f"hypernet:{hn_dir}").run(source, target)  # the default
    t = np.fromiter(shared, np.int64)
    s = np.fromiter(shared.values(), np.int64)
    np.testing.assert_array_equal(copied.input_embeddings[t], source.input_embeddings[s])
    # the untrained hypernet does not reproduce them on its own, so the copy is what made them equal
    assert not np.isclose(predicted.input_embeddings[t], source.input_embeddings[s]).all(1).any()
    # every other row is the prediction, bit for bit
    others = np.setdiff1d(np.arange(target.vocab.size), t)
    np.testing.assert_array_equal(
        copied.input_embeddings[others], predicted.input_embeddings[others]
    )
    specials = predicted.copied.sum()
    assert copied.copied[t].all() and copied.info["n_copied"] == len(shared) + specials
    assert copied.info["n_overlap_copied"] == len(shared)


def test_decomposition_option(setup):
    """ "tokenizer" splits with SmolLM2's BPE merges (as training does), "longest_match" greedily;
    each equals predict_embeddings with the matching Decomposer."""
    source, target, hn_dir, _, src_tok = setup
    hn = load_hypernet(hn_dir, source.input_embeddings)
    for mode, dec_source in (("tokenizer", src_tok), ("longest_match", source.vocab)):
        spec = f"hypernet:{hn_dir},decomposition={mode},copy_overlap=false"
        got = parse_method(spec).run(source, target)
        want = predict_embeddings(
            hn, Decomposer(dec_source, maxlen=CFG.surface_maxlen), target.vocab, progress=False
        )
        np.testing.assert_array_equal(got.input_embeddings, want.input_embeddings)
    with pytest.raises(ValueError, match="needs the source tokenizer"):
        parse_method(f"hypernet:{hn_dir}").run(
            SourceEmbeddings(source.vocab, source.input_embeddings), target
        )


def test_a_hypernet_for_another_base_model_is_refused(setup):
    source, target, hn_dir, _, src_tok = setup
    spec = parse_method(f"hypernet:{hn_dir}")
    other = SourceEmbeddings(source.vocab, source.input_embeddings * 2, tokenizer=src_tok)
    with pytest.raises(ValueError, match="differ from those of 'random-smollm2'"):
        spec.run(other, target, MethodInputs())
    narrow = SourceEmbeddings(source.vocab, source.input_embeddings[:, :8], tokenizer=src_tok)
    with pytest.raises(ValueError, match="trained for 'random-smollm2'"):
        spec.run(narrow, target)
    untied = SourceEmbeddings(
        source.vocab, source.input_embeddings, source.input_embeddings.copy(), tokenizer=src_tok
    )
    with pytest.raises(ValueError, match="untied LM head"):
        spec.run(untied, target)
    assert spec.options.base_model == "random-smollm2"
