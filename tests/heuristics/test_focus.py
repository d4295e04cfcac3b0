"""FOCUS on real tokenizers and German text: SmolLM2 source, a Unigram target trained on the corpus."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from zett import assets
from zett.heuristics import SourceEmbeddings, copy_plan, focus_init
from zett.heuristics.focus import (
    TokenVectors,
    fasttext_word,
    focus_weights,
    sparsemax,
    train_token_vectors,
)
from zett.tokenization import CanonicalVocab, SpecialToken, canonicalize, load_tokenizer


def german_texts(n: int = 1500) -> list[str]:
    """German Bible chapters from the packaged Bibles (always installed, unlike the built corpus)."""
    from zett.data.sources.bible import iter_documents

    return [d.joiner.join(d.segments) for _, d in zip(range(n), iter_documents("de"))]


@pytest.fixture(scope="module")
def setup():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    texts = german_texts()
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    tok.train_from_iterator(
        texts[:200],
        trainers.UnigramTrainer(
            vocab_size=1500, special_tokens=["<unk>"], unk_token="<unk>", show_progress=False
        ),
    )
    target = canonicalize(load_tokenizer(tok))
    src_vocab = canonicalize(load_tokenizer(assets.smollm2_gguf()))
    rng = np.random.default_rng(0)
    e_in = (rng.normal(size=(src_vocab.size, 16)) + np.linspace(-1, 1, 16)).astype(np.float32)
    e_out = rng.normal(size=(src_vocab.size, 16)).astype(np.float32)
    source = SourceEmbeddings(src_vocab, e_in, e_out)
    # deepfocus' tokenlevel mode (rare tokens get no vector), so the random rows are exercised too
    vectors = train_token_vectors(texts[:400], tok, min_count=5, threads=1, rare="random")
    return source, target, tok, texts, vectors


def reference_sparsemax(z):
    """Sparsemax by the definition: the tau with sum(max(z - tau, 0)) == 1, found by bisection."""
    lo, hi = z.max() - 1.0, z.max()
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.maximum(z - mid, 0).sum() > 1 else (lo, mid)
    return np.maximum(z - lo, 0)


def test_sparsemax_matches_definition():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20, 300)) * np.array([0.01, 0.1, 1, 10] * 5)[:, None]
    p = sparsemax(z)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-12)
    assert (p >= 0).all() and (p == 0).any()
    for row, ref in zip(p, map(reference_sparsemax, z)):
        np.testing.assert_allclose(row, ref, atol=1e-9)


def test_focus_rows_are_sparse_convex_mixes_of_anchors(setup):
    source, target, tok, _texts, vectors = setup
    out = focus_init(source, target, vectors=vectors, seed=3)
    t_ids, s_ids = copy_plan(source, target)
    np.testing.assert_array_equal(out.input_embeddings[t_ids], source.input_embeddings[s_ids])
    np.testing.assert_array_equal(out.output_embeddings[t_ids], source.output_embeddings[s_ids])
    assert out.info["n_focus"] > 300 and out.info["n_anchors"] > 100 and out.info["n_random"] > 0

    # recompute a few rows by hand: cosine to anchors with vectors, sparsemax, weighted source rows
    row_of = {int(i): r for r, i in enumerate(vectors.ids)}
    anchors = sorted({(int(t), int(s)) for t, s in zip(t_ids, s_ids) if int(t) in row_of})
    a = np.stack([vectors.vectors[row_of[t]] for t, _ in anchors]).astype(np.float64)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    src_rows = np.array([s for _, s in anchors])
    new = [i for i in np.flatnonzero(~out.copied) if int(i) in row_of]
    for i in new[:: max(1, len(new) // 25)]:
        v = vectors.vectors[row_of[int(i)]].astype(np.float64)
        w = reference_sparsemax(a @ (v / np.linalg.norm(v)))
        assert 1 <= (w > 0).sum() < len(w)
        np.testing.assert_allclose(
            out.input_embeddings[i], w @ source.input_embeddings[src_rows], rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            out.output_embeddings[i], w @ source.output_embeddings[src_rows], rtol=1e-5, atol=1e-5
        )

    # rows without a vector: per-dim normal with the source statistics; the sample mean of n rows
    # lies within 5 standard errors (std / sqrt(n)) of the source mean in every dimension
    rand = ~out.copied
    rand[vectors.ids] = False
    n = int(rand.sum())
    assert n == out.info["n_random"]
    src_mean, src_std = source.input_embeddings.mean(0), source.input_embeddings.std(0)
    assert (np.abs(out.input_embeddings[rand].mean(0) - src_mean) < 5 * src_std / np.sqrt(n)).all()
    if n >= 100:  # enough rows to estimate a spread
        np.testing.assert_allclose(out.input_embeddings[rand].std(0), src_std, rtol=0.25)


def test_focus_trains_fasttext_from_texts_and_checks_inputs(setup):
    source, target, tok, texts, _vectors = setup
    out = focus_init(source, target, texts=texts[:400], tokenizer=tok, min_count=3, threads=1)
    assert out.info["n_focus"] > 0 and np.isfinite(out.input_embeddings).all()
    with pytest.raises(ValueError, match="texts"):
        focus_init(source, target)
    with pytest.raises(ValueError, match="ids"):
        focus_init(source, target, texts=texts[:10], tokenizer=load_tokenizer(assets.minilm_dir()))
    with pytest.raises(ValueError, match="vocabulary"):
        focus_init(
            source,
            target,
            vectors=TokenVectors(np.array([target.size + 5]), np.ones((1, 4), np.float32)),
        )


def test_fasttext_words_are_unique_single_words():
    tokens = ["▁Gott", " a", "a\nb", "\\x", "\\5c;x", "</s>", "\\</s>", "a\u3000b", "\t", "\x00"]
    words = [fasttext_word(t) for t in tokens]
    assert len(set(words)) == len(words)
    assert words[0] == "▁Gott"  # ordinary pieces keep their spelling for the character n-grams
    for w in words:  # fastText splits on whitespace and NUL, and reserves </s>
        assert w and w != "</s>" and not any(c.isspace() or ord(c) < 32 for c in w)


# Fallback bound on Bible text: on 100 chapters with min_count 10 about a third of the 1,500 pieces
# is rare; with rare="ngrams" only pieces none of whose character n-grams occur in a frequent piece
# stay random, here fewer than 2% of the new tokens (0.13% for the 16k demo tokenizer, see the slow
# test).
MAX_RANDOM_FRACTION = 0.02


def test_rare_tokens_get_vectors_from_their_character_ngrams(setup):
    source, target, tok, texts, _vectors = setup
    plain = train_token_vectors(texts[:100], tok, threads=1, rare="random")
    composed = train_token_vectors(texts[:100], tok, threads=1)
    new = np.flatnonzero(~focus_init(source, target, vectors=composed).copied)
    rare = np.setdiff1d(new, plain.ids)
    assert len(rare) > 0.2 * len(
        new
    )  # min_count 10 on little text: deepfocus would draw these at random
    # in-vocabulary tokens keep their trained vectors
    row = {int(i): r for r, i in enumerate(composed.ids)}
    np.testing.assert_array_equal(composed.vectors[[row[int(i)] for i in plain.ids]], plain.vectors)
    out = focus_init(source, target, vectors=composed)
    assert out.info["n_random"] <= MAX_RANDOM_FRACTION * len(new), out.info

    # the composed vectors carry spelling: a rare piece's nearest frequent piece shares a
    # 3-character substring far more often than a random frequent piece does (measured: 44% vs 2%)
    def grams(i):
        t = tok.id_to_token(int(i))
        return {t[k : k + 3] for k in range(len(t) - 2)}

    rare = np.array([i for i in rare if int(i) in row and len(tok.id_to_token(int(i))) >= 4])
    freq = plain.ids
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = (
        unit(composed.vectors[[row[int(i)] for i in rare]])
        @ unit(composed.vectors[[row[int(i)] for i in freq]]).T
    )
    nearest = freq[sims.argmax(1)]
    shuffled = np.random.default_rng(0).choice(freq, len(rare))
    share = np.mean([bool(grams(a) & grams(b)) for a, b in zip(rare, nearest)])
    chance = np.mean([bool(grams(a) & grams(b)) for a, b in zip(rare, shuffled)])
    assert share > 0.25 and share > 5 * chance, (share, chance)


@pytest.mark.slow
def test_demo_tokenizer_falls_back_for_under_one_percent_of_new_tokens():
    """The `zett demo` setting: Unigram-16k on the German Bible's training chapters, fastText on the
    same."""
    from zett.demo import DemoConfig, split_texts, train_unigram

    train, _held = split_texts(DemoConfig(lang="de"))
    tok = train_unigram(train, 16000)
    target = canonicalize(load_tokenizer(tok))
    source = SourceEmbeddings(
        canonicalize(load_tokenizer(assets.smollm2_gguf())), np.zeros((49152, 4), np.float32)
    )
    out = focus_init(source, target, texts=train, tokenizer=tok, threads=2)
    n_new = int((~out.copied).sum())
    assert n_new > 10000 and out.info["n_random"] < 0.01 * n_new, out.info


def test_focus_weights_chunking_is_invisible():
    rng = np.random.default_rng(2)
    new, anchors = rng.normal(size=(50, 8)), rng.normal(size=(40, 8))
    np.testing.assert_allclose(
        focus_weights(new, anchors, chunk=7).toarray(),
        focus_weights(new, anchors, chunk=1000).toarray(),
        atol=1e-12,
    )


DEEPFOCUS_FIXTURE = Path(__file__).parent / "fixtures" / "deepfocus_focus.npz"


def test_matches_deepfocus():
    """zett's FOCUS against the published deepfocus 1.0.1 on `setup`'s inputs: deepfocus' output,
    its inputs (target vocabulary, shared tokens' source rows, fastText vectors) recorded by
    fixtures/make_deepfocus_fixture.py, since deepfocus cannot be a test dependency (its
    `fasttext` is an sdist that would replace zett's fasttext-wheel)."""
    fx = np.load(DEEPFOCUS_FIXTURE)
    spec = json.loads(str(fx["target"]))
    target = CanonicalVocab.from_tokens(
        spec["tokens"], [SpecialToken(r, t, i, tuple(a)) for r, t, i, a in spec["specials"]]
    )
    src_vocab = canonicalize(load_tokenizer(assets.smollm2_gguf()))
    table = np.zeros((src_vocab.size, 16), np.float32)
    table[fx["copy_source_ids"]] = fx["source_rows"]
    source = SourceEmbeddings(src_vocab, table)
    t_ids, s_ids = copy_plan(source, target)  # the recorded inputs are the ones rebuilt here
    np.testing.assert_array_equal(t_ids, fx["copy_target_ids"])
    np.testing.assert_array_equal(s_ids, fx["copy_source_ids"])
    vectors = TokenVectors(fx["vector_ids"], fx["vectors"].astype(np.float32))

    ours = focus_init(source, target, vectors=vectors)
    theirs = fx["deepfocus"]
    has_vec = np.zeros(target.size, bool)
    has_vec[vectors.ids] = True
    det = ours.copied | has_vec  # rows both compute deterministically (the rest are random)
    diff = np.abs(ours.input_embeddings[det].astype(np.float64) - theirs[det])
    assert ours.info["n_focus"] > 300
    assert diff.max() / np.abs(table).max() < 1e-6, diff.max()
    assert np.all(theirs[~det] != 0) and (~det).any()  # deepfocus drew the vector-less rows


@pytest.mark.slow
def test_matches_deepfocus_on_real_smollm2_embeddings(setup):
    pytest.importorskip(
        "deepfocus",
        reason="deepfocus (with entmax, fastdist, numba, print-on-steroids) is not installed",
    )
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "focus_vs_deepfocus.py"
    spec = importlib.util.spec_from_file_location("focus_vs_deepfocus", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    source, target, tok, _texts, vectors = setup
    real = SourceEmbeddings(source.vocab, bench.smollm2_embeddings())
    res = bench.compare(real, target, tok, vectors)
    assert res["max_rel_diff"] < 1e-6, res
