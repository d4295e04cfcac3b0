"""The numpy BPE equals `tokenizers`' BPE model id for id; the integer hash table equals a sorted
search."""

from __future__ import annotations

import random

import numpy as np
import pytest

from zett.tokenization import BYTE_TO_CHAR, Decomposer, canonicalize, load_tokenizer, to_canonical
from zett.tokenization.bpe_numpy import VectorBPE
from zett.tokenization.int_hash import IntHashTable


def _strings(loaded, verses, n_random: int = 3000, seed: int = 0) -> list[str]:
    """Target-like strings: other tokenizers' pieces, cuts of real words, random bytes (partial UTF-8
    included)."""
    rnd = random.Random(seed)
    words = [to_canonical(w.encode()) for v in verses[::2] for w in v.split()]
    cuts = []
    for w in words:
        a = rnd.randrange(len(w))
        cuts.append(w[a : a + rnd.randrange(1, 16)])
    randoms = [
        to_canonical(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 16))))
        for _ in range(n_random)
    ]
    pieces = [t for t in canonicalize(loaded).tokens[300:40000:7] if t]
    return [*cuts, *randoms, *pieces, BYTE_TO_CHAR[0xFF] * 5, "a" * 31, BYTE_TO_CHAR[32] * 20]


def _rust(dec: Decomposer, words: list[str]) -> list[list[int]]:
    return [
        e.ids
        for e in dec._tokenizer.encode_batch(
            [[w] for w in words], is_pretokenized=True, add_special_tokens=False
        )
    ]


@pytest.mark.parametrize("source,other", [("smollm2", "gemma3"), ("gemma3", "smollm2")])
def test_numpy_bpe_equals_tokenizers(request, verses, source, other):
    """Byte-level BPE (SmolLM2) and SentencePiece BPE rewritten over bytes (Gemma 3: character-assembly
    merges rank first) on thousands of strings, in one batch with mixed lengths."""
    dec = Decomposer(request.getfixturevalue(source))
    bpe = VectorBPE(dec.model.model)
    words = [w for w in _strings(request.getfixturevalue(other), verses) if len(w) <= bpe.max_width]
    assert bpe.supports(words).all()
    ids, per = bpe.encode(words)
    got = [r.tolist() for r in np.split(ids, np.cumsum(per)[:-1])]
    want = _rust(dec, words)
    bad = [(w, g, x) for w, g, x in zip(words, got, want) if g != x]
    assert not bad, f"{len(bad)}/{len(words)} differ, e.g. {bad[:3]}"
    assert (
        sum(len(x) < len(w) for w, x in zip(words, want)) > len(words) // 2
    )  # merges really happened


def test_numpy_bpe_on_a_trained_tokenizer_with_ignore_merges(hf_trained, verses):
    """A `tokenizers`-trained byte-level BPE, with and without `ignore_merges` (whole-word hits skip
    the merges)."""
    loaded = load_tokenizer(hf_trained["bpe"])
    dec = Decomposer(loaded)
    words = _strings(loaded, verses, n_random=500)
    for ignore in (False, True):
        model = {**dec.model.model, "ignore_merges": ignore}
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(
            dec._tokenizer.to_str().replace(
                '"ignore_merges":false', f'"ignore_merges":{str(ignore).lower()}'
            )
        )
        assert tok.model.ignore_merges is ignore
        ids, per = VectorBPE(model).encode(words)
        got = [r.tolist() for r in np.split(ids, np.cumsum(per)[:-1])]
        want = [
            e.ids
            for e in tok.encode_batch(
                [[w] for w in words], is_pretokenized=True, add_special_tokens=False
            )
        ]
        assert got == want


def test_duplicate_merges_keep_the_last_rank():
    """`tokenizers` collects merges into a map, so a repeated pair takes its later rank."""
    from tokenizers import Tokenizer

    vocab = {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4}
    for merges in ([["a", "b"], ["b", "c"], ["a", "b"]], [["a", "b"], ["b", "c"]]):
        model = {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        }
        import json

        tok = Tokenizer.from_str(
            json.dumps(
                {
                    "version": "1.0",
                    "added_tokens": [],
                    "normalizer": None,
                    "pre_tokenizer": None,
                    "post_processor": None,
                    "decoder": None,
                    "model": model,
                }
            )
        )
        want = tok.encode(["abc"], is_pretokenized=True).ids
        ids, per = VectorBPE(model).encode(["abc"])
        assert ids.tolist() == want
    assert want == [3, 2]


def test_decomposer_mixes_numpy_and_tokenizers(decomposers):
    """Strings too long for the numpy BPE go to `tokenizers`; the order of the result is kept."""
    dec = decomposers["smollm2"]
    long = to_canonical(("Weltanschauung" * 4).encode())
    words = [
        to_canonical(" Verschlüsselung".encode()),
        long,
        to_canonical("日本語".encode()),
        long[:-1],
    ]
    assert dec._vector_bpe.supports(words).tolist() == [True, False, True, False]
    assert dec.encode(words) == _rust(dec, words)


def test_int_hash_table_equals_sorted_search():
    rng = np.random.default_rng(0)
    for dtype, n in ((np.uint64, 5000), (np.int64, 1), (np.int64, 3000)):
        keys = np.unique(rng.integers(0, 1 << 62, n).astype(dtype))
        if dtype == np.int64 and n > 1:
            keys = np.unique(
                np.concatenate([keys, np.arange(-50, 50)])
            )  # small, negative and clustered keys
        queries = np.concatenate(
            [keys, rng.integers(0, 1 << 62, 4 * n).astype(dtype), keys[::3] + 1]
        )
        got = IntHashTable(keys).get(queries)
        pos = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
        np.testing.assert_array_equal(got, np.where(keys[pos] == queries, pos, -1))
    assert IntHashTable(np.zeros(0, np.int64)).get(np.arange(3)).tolist() == [-1, -1, -1]
