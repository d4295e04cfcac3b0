"""Tokenizer extension: new tokens become single ids in `tokenizers` and `transformers`, old ids
stay."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer

import zett.assets
from zett.extend.layout import VocabLayout
from zett.extend.tokenizer import (
    TokenizerExtensionError,
    add_tokens,
    expand_pattern,
    load_tokenizer,
    parse_token_spec,
    remap_tokenizer_json,
    save_tokenizer,
    verify_tokenizer,
)


def test_patterns():
    assert expand_pattern("<AUDIO_{i}>", 3) == ["<AUDIO_0>", "<AUDIO_1>", "<AUDIO_2>"]
    assert parse_token_spec("<AUDIO_{0..8191}>")[-1] == "<AUDIO_8191>"
    assert len(parse_token_spec("<AUDIO_{0..8191}>")) == 8192
    assert parse_token_spec("hello") == ["hello"]
    with pytest.raises(ValueError, match="must contain"):
        expand_pattern("<AUDIO>", 3)


def test_audio_codes_on_byte_level_bpe(tmp_path, bpe_tokenizer):
    n = bpe_tokenizer.get_vocab_size()
    tokens = expand_pattern("<AUDIO_{i}>", 1024)
    ids = list(range(n, n + 1024))
    new = add_tokens(bpe_tokenizer, tokens, ids, special=True)
    assert new.encode("abc<AUDIO_7><AUDIO_1023> def").ids[-3:-1] == [n + 7, n + 1023]
    # the text around them tokenizes as before
    text = "def wrap(text, width=70):"
    assert new.encode(text).ids == bpe_tokenizer.encode(text).ids
    save_tokenizer(new, tmp_path, tokens=tokens, ids=ids, special=True)
    report = verify_tokenizer(tmp_path, tokens, ids, original=bpe_tokenizer)
    assert report.ok, report.problems
    assert report.backends == ("tokenizers", "transformers")


def test_regular_words_on_wordpiece_with_hf_files(tmp_path):
    src = zett.assets.minilm_dir()
    tok = load_tokenizer(src)
    n = tok.get_vocab_size()
    words = ["tokenizerology", "zettification"]
    assert len(tok.encode(words[0], add_special_tokens=False).ids) > 1
    new = add_tokens(tok, words, [n, n + 1], special=False)
    save_tokenizer(new, tmp_path / "out", src, words, [n, n + 1], special=False)
    report = verify_tokenizer(tmp_path / "out", words, [n, n + 1], original=tok)
    assert report.ok, report.problems
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(tmp_path / "out"))
    assert len(hf) == n + 2
    ids = hf("I love zettification!")["input_ids"]
    assert n + 1 in ids and hf.decode(ids, skip_special_tokens=True) == "i love zettification!"


def test_clashes_and_wrong_ids(bpe_tokenizer):
    n = bpe_tokenizer.get_vocab_size()
    with pytest.raises(TokenizerExtensionError, match="already in the vocabulary"):
        add_tokens(bpe_tokenizer, ["<|endoftext|>"], [n])
    with pytest.raises(TokenizerExtensionError, match="given twice"):
        add_tokens(bpe_tokenizer, ["<X>", "<X>"], [n, n + 1])
    with pytest.raises(TokenizerExtensionError, match="planned"):
        add_tokens(bpe_tokenizer, ["<X>"], [n + 5], special=True)  # a gap cannot be expressed


def test_verify_detects_a_token_that_is_not_single_id(tmp_path, bpe_tokenizer):
    bpe_tokenizer.save(str(tmp_path / "tokenizer.json"))
    report = verify_tokenizer(tmp_path, ["<NOT_ADDED>"], [bpe_tokenizer.get_vocab_size()])
    assert not report.ok and "expected" in report.problems[0]


def test_insert_text_tokens_before_modality_tokens(bpe_tokenizer):
    """A multimodal vocabulary text | audio: new text ids go before audio, audio ids shift."""
    n = bpe_tokenizer.get_vocab_size()
    audio = expand_pattern("<AUDIO_{i}>", 16)
    mm = add_tokens(bpe_tokenizer, audio, range(n, n + 16), special=True)
    layout = VocabLayout.of(text=n, audio=16)
    new_layout, mapping = layout.grow("text", 3)
    words = ["ĠTokyo", "Ġzett", "Ġhypernetwork"]
    new = add_tokens(mm, words, mapping.new_ids["text"], special=False, mapping=mapping)
    assert [new.token_to_id(w) for w in words] == [n, n + 1, n + 2]
    assert new.token_to_id("<AUDIO_0>") == new_layout.offset("audio") == n + 3
    assert new.token_to_id("<AUDIO_15>") == new_layout["audio"].hi - 1
    assert new.encode("x<AUDIO_3>").ids[-1] == n + 3 + 3


def test_remap_moves_post_processor_ids():
    tok = json.loads(load_tokenizer(zett.assets.minilm_dir()).to_str())
    layout = VocabLayout.of(a=100, b=tok["model"]["vocab"].__len__() - 100)
    _, mapping = layout.grow("a", 5)
    out = remap_tokenizer_json(tok, mapping)
    assert out["post_processor"]["special_tokens"]["[CLS]"]["ids"] == [106]
    assert out["model"]["vocab"]["[CLS]"] == 106 and out["model"]["vocab"]["[PAD]"] == 0
    new = Tokenizer.from_str(json.dumps(out))
    assert new.encode("hello").ids[0] == 106
