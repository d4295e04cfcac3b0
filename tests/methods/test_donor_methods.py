"""omp, clp and fvt-calibrated as registry entries: typed options, a missing or bad donor refused
before any work, and hand-built cases whose answer is known without the code under test."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer, models

from zett.heuristics import Donor, SourceEmbeddings, fvt_calibrated_init
from zett.methods import MethodInputs, Target, method_names, parse_method
from zett.methods.heuristic import ClpOptions, FvtCalibratedOptions, OmpOptions
from zett.tokenization import CanonicalVocab, SpecialToken, load_tokenizer

SOURCE_TOKENS = ["<s>", "Ġthe", "Ġth", "e", "re", "Ġa", "b"]
TARGET_TOKENS = ["<s>", "Ġthere", "Ġthe", "ab", "re", "x"]


@pytest.fixture(scope="module")
def case() -> tuple[SourceEmbeddings, Target, Donor]:
    """Shared tokens Ġthe and re (plus <s>). In the donor's space (the target vocabulary) Ġthe
    and re are orthogonal unit rows; Ġthere points along Ġthe, ab along re (twice as long) and
    x halfway between them."""
    src = CanonicalVocab.from_tokens(SOURCE_TOKENS, [SpecialToken("bos", "<s>", 0)])
    tgt = CanonicalVocab.from_tokens(TARGET_TOKENS, [SpecialToken("bos", "<s>", 0)])
    rng = np.random.default_rng(0)
    e_in = rng.standard_normal((len(SOURCE_TOKENS), 5)).astype(np.float32)
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(TARGET_TOKENS)}, unk_token="x"))
    e0, e1 = np.eye(3, dtype=np.float32)[:2]
    donor = np.stack([np.eye(3)[2], e0, e0, 2 * e1, e1, e0 + e1]).astype(np.float32)
    return SourceEmbeddings(src, e_in), Target(load_tokenizer(tok), tgt), Donor(tgt, donor)


def test_registered_with_typed_options():
    for name in ("omp", "clp", "fvt-calibrated"):
        assert name in method_names()
    assert parse_method("omp,k=8,refresh=1").options == OmpOptions(k=8, refresh=1)
    assert parse_method("clp,block=3").options == ClpOptions(block=3)
    assert parse_method("fvt-calibrated,undertrained_z=4").options == FvtCalibratedOptions(
        undertrained_z=4.0
    )
    with pytest.raises(ValueError, match="omp: k must be ≥ 1"):
        parse_method("omp,k=0")
    assert parse_method("omp").needs == {"donor"} and parse_method("clp").needs == {"donor"}
    assert not parse_method("fvt-calibrated").needs


@pytest.mark.parametrize("name", ["omp", "clp"])
def test_no_or_bad_donor_fails_before_any_work(name, tmp_path):
    spec = parse_method(name)
    # source and target None: the refusal must come before anything touches them
    with pytest.raises(ValueError, match=f"'{name}' needs a donor model .*--donor MODEL"):
        spec.run(None, None, MethodInputs())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="donor model '/nonexistent/m.gguf'"):
        spec.run(None, None, MethodInputs(donor="/nonexistent/m.gguf"))  # type: ignore[arg-type]
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ValueError, match="neither a .gguf file nor a model directory"):
        spec.run(None, None, MethodInputs(donor=str(tmp_path / "notes.txt")))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["omp", "clp"])
def test_donor_lacking_target_tokens_is_refused(name, case):
    source, target, donor = case
    small = CanonicalVocab.from_tokens(TARGET_TOKENS[:3], [SpecialToken("bos", "<s>", 0)])
    with pytest.raises(ValueError, match="lacks .* a donor must use the target tokenizer"):
        parse_method(name).run(
            source, target, MethodInputs(donor=Donor(small, donor.input_embeddings[:3]))
        )


def test_omp_and_clp_through_the_registry(case):
    source, target, donor = case
    s = source.input_embeddings
    the, re = s[1], s[4]
    omp = parse_method("omp,k=2,refresh=1").run(source, target, MethodInputs(donor=donor))
    clp = parse_method("clp").run(source, target, MethodInputs(donor=donor))
    for out in (omp, clp):  # shared tokens copy their base rows
        np.testing.assert_array_equal(out.input_embeddings[2], the)
        np.testing.assert_array_equal(out.input_embeddings[4], re)
    # OMP: exact sparse codes in the donor's space, replayed on the base rows
    np.testing.assert_allclose(omp.input_embeddings[1], the, atol=1e-5)
    np.testing.assert_allclose(omp.input_embeddings[3], 2 * re, atol=1e-5)
    np.testing.assert_allclose(omp.input_embeddings[5], the + re, atol=1e-5)
    # CLP: cosine weights normalised to sum 1 (x: 1/√2 each → half and half)
    np.testing.assert_allclose(clp.input_embeddings[1], the, atol=1e-5)
    np.testing.assert_allclose(clp.input_embeddings[3], re, atol=1e-5)
    np.testing.assert_allclose(clp.input_embeddings[5], (the + re) / 2, atol=1e-5)
    # a loaded SourceEmbeddings works as the donor too (what zett.methods may hold)
    as_source = SourceEmbeddings(donor.vocab, donor.input_embeddings)
    again = parse_method("clp").run(source, target, MethodInputs(donor=as_source))
    np.testing.assert_array_equal(again.input_embeddings, clp.input_embeddings)


def test_fvt_calibrated_entry_is_the_function(case):
    source, target, _ = case
    got = parse_method("fvt-calibrated,min_script=1").run(source, target)
    want = fvt_calibrated_init(source, target.vocab, min_script=1)
    np.testing.assert_array_equal(got.input_embeddings, want.input_embeddings)
