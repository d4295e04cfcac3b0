"""The scoring protocol: byte attribution (every byte exactly once, on real tokenizers and scripts),
windows in bytes (every token scored once; the same context in bytes for a tokenizer with ~5× more
tokens), unk and dropped bytes counted, loud failures."""

from __future__ import annotations

import re

import numpy as np
import pytest
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from zett import assets
from zett.bench import make_bytes_tokenizer
from zett.eval.protocol import (
    ScoringProtocol,
    attribute_bytes,
    char_byte_offsets,
    plan_windows,
    tokenize_documents,
)
from zett.tokenization import load_tokenizer

MULTI = (
    "In the beginning 👋🏽 was the word. Am Anfang war das Wort, straße. 太初有道，道与神同在。"
    " आदि में वचन था, और वचन परमेश्वर के साथ था। В начале было Слово. في البدء كان الكلمة "
    "🧑‍🚀 ok\u00a0𓀀𓀁 end"
)


def word_tokenizer(texts: list[str]) -> Tokenizer:
    """Words with their leading space, and single other characters, as tokens: lossless, ~5× fewer
    tokens than bytes on English."""
    pieces = sorted({p for t in texts for p in re.findall(r" ?\w+|\W", t)})
    tok = Tokenizer(models.WordLevel({p: i for i, p in enumerate(pieces)}, unk_token=pieces[0]))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern=Regex(r" ?\w+|\W"), behavior="isolated")
    return tok


def check_partition(doc, text: str) -> np.ndarray:
    """The attributed spans partition the document's bytes; returns [n] byte sizes."""
    n = len(text.encode("utf-8"))
    assert doc.n_bytes == n
    assert doc.starts[0] == 0 and (np.diff(doc.starts) >= 0).all()
    sizes = np.diff(np.append(doc.starts, n))
    assert sizes.sum() == n and (sizes >= 0).all()
    return sizes


def test_char_byte_offsets_match_python():
    text = "aé€😀ह"
    expected = [0] + [len(text[: i + 1].encode()) for i in range(len(text))]
    assert char_byte_offsets(text).tolist() == expected


def test_bytes_tokenizer_gets_one_byte_per_token():
    (doc,) = tokenize_documents(make_bytes_tokenizer(), [MULTI])
    assert len(doc.ids) == len(MULTI.encode())
    assert doc.starts.tolist() == list(range(len(MULTI.encode())))


@pytest.mark.parametrize("alias", ["gemma3", "smollm2", "qwen2"])
def test_real_tokenizers_partition_multilingual_text(alias):
    tok = load_tokenizer(assets.resolve(alias)).tokenizer
    (doc,) = tokenize_documents(tok, [MULTI])
    sizes = check_partition(doc, MULTI)
    data = MULTI.encode("utf-8")
    enc = tok.encode(MULTI, add_special_tokens=False)
    if alias == "gemma3":
        # whole characters or one byte each (byte fallback): the attribution is exact, checked
        # against each piece's own bytes
        assert any(t.startswith("<0x") for t in enc.tokens)
        for i, piece in enumerate(enc.tokens):
            own = (
                bytes([int(piece[3:5], 16)])
                if re.fullmatch(r"<0x[0-9A-F]{2}>", piece)
                else piece.replace("▁", " ").encode()
            )
            assert data[doc.starts[i] : doc.starts[i] + sizes[i]] == own, (i, piece)
    else:
        # byte-level BPE: a piece may split a character; its own bytes come from the GPT-2 map
        inv = {c: b for b, c in gpt2_byte_map().items()}
        own = [bytes(inv[c] for c in piece) for piece in enc.tokens]
        assert b"".join(own) == data
        true_starts = np.append(0, np.cumsum([len(o) for o in own])[:-1])
        char_start = {
            b: c0
            for c0, c1 in zip(*[char_byte_offsets(MULTI)[k:] for k in (0, 1)])
            for b in range(c0, c1)
        }
        # never outside the character the token's first byte is in; exact when it starts one
        for i, t in enumerate(true_starts):
            assert char_start[t] <= doc.starts[i] <= t, (i, enc.tokens[i])
            if char_start[t] == t:
                assert doc.starts[i] == t, (i, enc.tokens[i])


def gpt2_byte_map() -> dict[int, str]:
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def small_unigram() -> Tokenizer:
    """NFC + Metaspace Unigram trained on a few English words, `<unk>` = id 0."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(
        ["the word was with god and the word was god é"] * 20,
        trainers.UnigramTrainer(vocab_size=40, special_tokens=["<unk>"], unk_token="<unk>"),
    )
    return tok


def test_unk_bytes_are_counted_and_the_unk_is_scored():
    text = "the word 👋 was 太 god"
    (doc,) = tokenize_documents(small_unigram(), [text], unk_id=0)
    check_partition(doc, text)
    assert doc.unk_bytes == len("👋".encode()) + len("太".encode())
    assert (doc.ids == 0).sum() == 2  # kept as tokens, so they are scored


def test_dropped_whitespace_is_counted_lost_text_is_an_error():
    tok = load_tokenizer(assets.resolve("minilm")).tokenizer  # BERT WordPiece drops whitespace
    text = "In  the beginning\nwas"
    (doc,) = tokenize_documents(tok, [text])
    check_partition(doc, text)
    assert doc.dropped_bytes == text.count(" ") + text.count("\n")
    # NFC merges e + combining acute into é, whose offsets then leave the combining mark uncovered
    with pytest.raises(ValueError, match="covered by no token"):
        tokenize_documents(small_unigram(), ["the e\u0301 word"])
    (doc,) = tokenize_documents(small_unigram(), ["the \u00e9 word"])  # the same text, NFC
    assert doc.dropped_bytes == 0


def test_offsets_going_backwards_are_an_error():
    with pytest.raises(ValueError, match="before token"):
        attribute_bytes("abcd", [(0, 2), (1, 2), (0, 4)])


def test_every_token_is_scored_in_exactly_one_window():
    texts = [MULTI * 3, "short", ""]
    tok = load_tokenizer(assets.resolve("gemma3")).tokenizer
    docs = tokenize_documents(tok, texts)
    protocol = ScoringProtocol(context_bytes=40, stride_bytes=17)
    windows = plan_windows(docs, protocol)
    for d, doc in enumerate(docs):
        scored = [i for w in windows if w.doc == d for i in range(w.start, w.end)]
        assert scored == list(range(len(doc.ids)))
        for w in windows:
            if w.doc != d:
                continue
            seg = doc.starts[w.start] // protocol.stride_bytes
            # scored tokens start in the window's segment, context tokens in the C bytes before
            assert (doc.starts[w.start : w.end] // protocol.stride_bytes == seg).all()
            lo = seg * protocol.stride_bytes - protocol.context_bytes
            assert (doc.starts[w.context : w.start] >= lo).all()
            assert w.context == 0 or doc.starts[w.context - 1] < lo


def test_a_tokenizer_with_5x_more_tokens_gets_the_same_context_in_bytes():
    text = " ".join(
        ["In the beginning God created the heaven and the earth and the earth was without form"]
        * 12
    )
    words, byts = word_tokenizer([text]), make_bytes_tokenizer()
    (dw,), (db,) = tokenize_documents(words, [text]), tokenize_documents(byts, [text])
    assert len(db.ids) > 4 * len(dw.ids)
    protocol = ScoringProtocol(context_bytes=200, stride_bytes=64)
    longest = max(len(w) for w in re.findall(r" ?\w+|\W", text))

    def context_start(doc):
        """byte where the preceding text of each scored token starts, by the token's byte"""
        out = {}
        for w in plan_windows([doc], protocol):
            for i in range(w.start, w.end):
                out[int(doc.starts[i])] = int(doc.starts[w.context])
        return out

    cw, cb = context_start(dw), context_start(db)
    # independent expectation: segment k = p // S; context = text from max(0, k·S − C), minus
    # at most the token straddling that boundary
    for p, start in cw.items():
        k = p // protocol.stride_bytes
        lo = max(0, k * protocol.stride_bytes - protocol.context_bytes)
        assert cb[p] == lo  # bytes: one token per byte, nothing straddles
        assert lo <= start < lo + longest
        assert (p - start) <= protocol.context_bytes + protocol.stride_bytes
    # the same bytes before every word start, up to one word
    assert max(cw[p] - cb[p] for p in cw) < longest
