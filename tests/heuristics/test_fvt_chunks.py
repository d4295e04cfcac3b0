"""FVT fills rows block by block straight into the output table: the result is bit-identical to the
one-shot float64 computation, whatever the block size."""

import numpy as np
import pytest
import scipy.sparse as sp

from zett import assets
from zett.heuristics import SourceEmbeddings, fvt_init
from zett.heuristics.base import assemble
from zett.heuristics.fvt import decomposition_matrix
from zett.tokenization import canonicalize, load_tokenizer


@pytest.fixture(scope="module")
def pair():
    src_vocab = canonicalize(load_tokenizer(assets.smollm2_gguf()))
    tgt_vocab = canonicalize(load_tokenizer(assets.minilm_dir()))
    rng = np.random.default_rng(0)
    e_in = (rng.normal(size=(src_vocab.size + 300, 24)) * 0.5 + np.linspace(-1, 1, 24)).astype(
        np.float32
    )  # + padding rows
    e_out = rng.normal(size=e_in.shape).astype(np.float32)
    return SourceEmbeddings(src_vocab, e_in, e_out), tgt_vocab


def _one_shot(
    source: SourceEmbeddings, target, table: np.ndarray, missing: np.ndarray
) -> np.ndarray:
    """The whole-table formula: scipy upcasts the full table, float64 throughout, cast once at the
    end."""
    table = table[: source.vocab.size]  # padding rows past the tokenizer's ids enter no statistic
    matrix, empty = decomposition_matrix(source, [target.tokens[i] for i in missing])
    n_src = source.get_decomposer().source_vocab_size
    mean = table.mean(0, dtype=np.float64)
    rows = matrix[:, :n_src].tocsr() @ table[:n_src] + np.asarray(matrix[:, n_src:].sum(1)) * mean
    rows[empty] = mean
    return rows.astype(table.dtype)


def test_chunked_fvt_is_bit_identical_to_one_shot(pair):
    source, target = pair
    results = [fvt_init(source, target, chunk=c) for c in (97, 4096, 10**7)]
    missing = np.flatnonzero(~results[0].copied)
    assert (
        missing.size > 3 * 97 and missing.size < 10**7
    )  # several blocks, and one block for everything
    for name, table in (
        ("input_embeddings", source.input_embeddings),
        ("output_embeddings", source.output_embeddings),
    ):
        expect = _one_shot(source, target, table, missing)
        assert np.abs(expect).max() > 0
        for res in results:
            got = getattr(res, name)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got[missing].view(np.uint32), expect.view(np.uint32))
    # some rows do use fallback bytes or pieces past the first block's columns, so the renumbering
    # is exercised
    matrix, _ = decomposition_matrix(source, [target.tokens[i] for i in missing])
    assert sp.csr_matrix(matrix).indices.max() > 40000


def test_assemble_takes_row_blocks_and_checks_their_count(pair):
    source, target = pair
    rows = {}

    def whole(key, table, missing):
        rows[key] = np.random.default_rng(len(key)).normal(size=(missing.size, table.shape[1]))
        return rows[key]

    def blocks(key, table, missing):
        r = rows[key]
        yield from (r[:5], r[5:1000], r[1000:])

    a = assemble(source, target, whole, name="whole")
    b = assemble(source, target, blocks, name="blocks")
    np.testing.assert_array_equal(a.input_embeddings, b.input_embeddings)
    np.testing.assert_array_equal(a.output_embeddings, b.output_embeddings)
    assert a.input_embeddings.dtype == np.float32  # float64 rows cast on assignment

    def short(key, table, missing):
        yield rows[key][:-1]

    def long(key, table, missing):
        yield rows[key]
        yield rows[key][:1]

    for bad in (short, long):
        with pytest.raises(ValueError, match="filled"):
            assemble(source, target, bad, name=bad.__name__)
