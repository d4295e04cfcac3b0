"""The method registry: one grammar for specs, typed options, needs checked before any work."""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer, models

from zett.config import ConfigError
from zett.heuristics import SourceEmbeddings, fvt_init, mean_noise_init
from zett.methods import (
    METHODS,
    CopyOptions,
    FocusOptions,
    FvtOptions,
    MethodInputs,
    Target,
    heuristic_method,
    method_names,
    parse_method,
    parse_option_pairs,
    split_methods,
)
from zett.tokenization import CanonicalVocab, SpecialToken, load_tokenizer

SOURCE_TOKENS = ["<s>", "Ġthe", "Ġth", "e", "re", "Ġa", "b"]
TARGET_TOKENS = ["<s>", "Ġthere", "Ġthe", "ab", "re", "x"]


@pytest.fixture(scope="module")
def pair() -> tuple[SourceEmbeddings, Target]:
    """Hand-built byte-level vocabularies (two shared tokens plus <s>) and random tables."""
    src = CanonicalVocab.from_tokens(SOURCE_TOKENS, [SpecialToken("bos", "<s>", 0)])
    tgt = CanonicalVocab.from_tokens(TARGET_TOKENS, [SpecialToken("bos", "<s>", 0)])
    rng = np.random.default_rng(0)
    e_in = rng.standard_normal((len(SOURCE_TOKENS), 4)).astype(np.float32)
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(TARGET_TOKENS)}, unk_token="x"))
    return SourceEmbeddings(src, e_in), Target(load_tokenizer(tok), tgt)


def test_unknown_method_lists_every_valid_one():
    with pytest.raises(ValueError, match="unknown method 'nope'") as e:
        parse_method("nope")
    for name in ("fvt", "focus", "lexical", "mean", "mean_noise", "mvn", "random", "hypernet:DIR"):
        assert name in str(e.value)
    assert method_names() == sorted(m.usage for m in METHODS.values())


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['nois'\]; valid options: copy, "):
        parse_method("mean_noise,nois=0.2")
    with pytest.raises(ConfigError, match="valid options: copy, chunk"):
        parse_method("fvt", {"chunks": "3"})
    with pytest.raises(ConfigError, match="unknown option"):
        parse_method({"name": "focus", "epoch": 5})


def test_options_are_typed_and_validated():
    assert parse_method("fvt,copy=false,chunk=7").options == FvtOptions(copy=False, chunk=7)
    assert parse_method({"name": "fvt", "copy": False, "chunk": 7}) == parse_method(
        "fvt", {"copy": "no", "chunk": "7"}
    )
    focus = parse_method("focus,threads=none,ngram_max=5,rare=random").options
    assert focus == FocusOptions(threads=None, ngram_max=5, rare="random")
    assert focus.kwargs()["ngrams"] == (3, 5)
    assert parse_method("mean").options == CopyOptions()
    with pytest.raises(ConfigError, match="option 'chunk'"):
        parse_method("fvt,chunk=many")
    with pytest.raises(ConfigError, match="option 'copy': expected a boolean"):
        parse_method("fvt,copy=maybe")
    with pytest.raises(ConfigError, match="'bpe' is not one of"):
        parse_method("focus,rare=bpe")
    with pytest.raises(ValueError, match="noise must be ≥ 0"):
        parse_method("mean_noise,noise=-1")
    with pytest.raises(ValueError, match="given twice"):
        parse_method("fvt,chunk=2", {"chunk": "3"})
    with pytest.raises(ValueError, match="takes no ':' argument"):
        parse_method("fvt:x")
    with pytest.raises(ValueError, match="is not key=value"):
        parse_method("fvt,chunk")
    with pytest.raises(ConfigError, match=r"needs option\(s\) \['path'\] \(write 'hypernet:DIR'\)"):
        parse_method("hypernet")
    with pytest.raises(FileNotFoundError, match="no such hypernet directory"):
        parse_method("hypernet:/no/such/dir")


def test_string_form_round_trips():
    for text in ("fvt", "fvt,copy=false", "mean_noise,noise=0.3", "focus,threads=none,epochs=5"):
        spec = parse_method(text)
        assert parse_method(str(spec)) == spec
    assert str(parse_method("focus,epochs=3")) == "focus"  # defaults are not written


def test_lists_and_cli_pairs():
    assert split_methods("hypernet:d,copy_overlap=true,fvt, focus,epochs=2") == [
        "hypernet:d,copy_overlap=true",
        "fvt",
        "focus,epochs=2",
    ]
    with pytest.raises(ValueError, match="before any method"):
        split_methods("copy=false,fvt")
    assert parse_option_pairs(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ValueError, match="expected key=value"):
        parse_option_pairs(["a"])
    with pytest.raises(ValueError, match="given twice"):
        parse_option_pairs(["a=1", "a=2"])


def test_caller_defaults_fill_only_unset_options_the_method_has():
    assert parse_method("fvt", defaults={"chunk": 9, "path": "x"}).options == FvtOptions(chunk=9)
    assert parse_method("fvt,chunk=3", defaults={"chunk": 9}).options.chunk == 3
    typed = parse_method("fvt")  # a parsed spec keeps its values; more options still apply
    assert parse_method(typed, defaults={"copy": False}) is typed
    assert parse_method(typed, {"chunk": "5"}, {"copy": False}).options == FvtOptions(chunk=5)


def test_a_method_that_needs_texts_fails_before_any_work():
    spec = parse_method("focus")
    assert spec.needs == {"texts"}
    # source and target None: the check must come before anything touches them
    with pytest.raises(ValueError, match="'focus' needs target-language texts .*--texts"):
        spec.run(None, None, MethodInputs())  # type: ignore[arg-type]


def test_donor_slot(monkeypatch, pair):
    """A method declaring `donor` is refused without one and receives the donor's tables."""
    source, target = pair
    seen = {}

    def donor_init(source, target, *, seed=0, copy=True, donor):
        seen["donor"] = donor
        return fvt_init(source, target, seed=seed, copy=copy)

    monkeypatch.setitem(
        METHODS, "donor_test", heuristic_method("donor_test", donor_init, CopyOptions, ("donor",))
    )
    spec = parse_method("donor_test")
    with pytest.raises(ValueError, match="needs a donor model .*--donor MODEL"):
        spec.check(MethodInputs())
    donor = SourceEmbeddings(target.vocab, np.ones((target.vocab.size, 4), np.float32))
    out = spec.run(source, target, MethodInputs(donor=donor))
    assert seen["donor"] is donor
    np.testing.assert_array_equal(
        out.input_embeddings, fvt_init(source, target.vocab).input_embeddings
    )


def test_entries_pass_their_options_and_seed(pair):
    source, target = pair
    got = parse_method("mean_noise,noise=0.5").run(source, target, MethodInputs(seed=4))
    want = mean_noise_init(source, target.vocab, seed=4, noise=0.5)
    np.testing.assert_array_equal(got.input_embeddings, want.input_embeddings)
    # copy=false: the shared tokens " the" and "re" are no longer the source rows
    copied = parse_method("fvt").run(source, target)
    fresh = parse_method("fvt,copy=false").run(source, target)
    assert copied.input_embeddings[2].tolist() == source.input_embeddings[1].tolist()
    # "Ġthe" decomposes to itself, so FVT gives the same row; "Ġthere" = mean("Ġthe", "re")
    np.testing.assert_allclose(
        fresh.input_embeddings[1], (source.input_embeddings[1] + source.input_embeddings[4]) / 2
    )
    assert not fresh.copied[2] and copied.copied[2]
