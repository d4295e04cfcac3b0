"""GGUF tokenizers of every model kind llama.cpp writes: bert (WordPiece, MiniLM), t5 (Unigram) and
llama (SentencePiece BPE) trained here, rwkv (greedy bytes), the refused kinds, the special-token
rules, and clear errors for broken files."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from _gguf_files import CONTROL, NORMAL, sentencepiece_kv, wordpiece_kv, write_gguf
from _gguf_texts import CODE, EDGE, sample_texts, training_texts
from tokenizers import Tokenizer

from zett import assets
from zett.tokenization import TokenizerError, canonicalize, load_tokenizer, read_gguf_tokenizer


# ---- bert: WordPiece ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def minilm_pair(tmp_path_factory):
    want = Tokenizer.from_file(str(assets.minilm_dir() / "tokenizer.json"))
    want.no_padding()
    want.no_truncation()
    path = write_gguf(tmp_path_factory.mktemp("bert") / "minilm.gguf", wordpiece_kv(want), "bert")
    return want, load_tokenizer(path).tokenizer


def llama_cpp_wpm_text(text: str) -> str:
    """llama.cpp's WordPiece accent stripping, computed with unicodedata: each code point → the
    first code point of its NFD, then every mark (\\p{M}) dropped."""
    first = (unicodedata.normalize("NFD", c)[0] for c in text)
    return "".join(c for c in first if not unicodedata.category(c).startswith("M"))


def strips_alike(text: str) -> bool:
    """No spacing marks (Mc, Me) and no Hangul syllables: HF and llama.cpp strip accents alike."""
    return not any(unicodedata.category(c) in ("Mc", "Me") or "가" <= c <= "힣" for c in text)


def test_minilm_wordpiece_round_trip(minilm_pair):
    """Same ids as MiniLM's tokenizer.json ([CLS] … [SEP] included), all eight languages' verses
    that hold no spacing marks or Hangul (Hindi verses mostly do: see the next test)."""
    want, got = minilm_pair
    texts = [t for t in sample_texts() if strips_alike(t)] + ["[CLS] a [MASK] b"]
    assert len(texts) > 160
    for text in texts:
        assert got.encode(text).ids == want.encode(text).ids, text


def test_minilm_marks_and_hangul_follow_llama_cpp(minilm_pair):
    """Documented difference: llama.cpp drops every mark (HF only Mn) and keeps only the first code
    point of a decomposed Hangul syllable; and it has no 100-character word limit."""
    want, got = minilm_pair
    for text in sample_texts(langs=("hi", "ko"), per_language=10) + ["नमस्ते 한국어 façade"]:
        assert got.encode(text).ids == want.encode(llama_cpp_wpm_text(text)).ids, text
    assert got.encode("हिन्दी").tokens != want.encode("हिन्दी").tokens  # the difference is real
    long = "ab" * 60
    assert "[UNK]" in want.encode(long).tokens and "[UNK]" not in got.encode(long).tokens


def test_wordpiece_flags_from_metadata(tmp_path):
    """tokenizer.ggml.normalizer.lowercase off → cased, and strip_accents follows it."""
    want = Tokenizer.from_file(str(assets.minilm_dir() / "tokenizer.json"))
    kv = wordpiece_kv(want, **{"normalizer.lowercase": False})
    got = load_tokenizer(write_gguf(tmp_path / "cased.gguf", kv, "bert")).tokenizer
    assert got.encode("Über", add_special_tokens=False).tokens != ["uber"]
    assert got.encode("über", add_special_tokens=False).tokens[0] == "[UNK]"


# ---- t5: Unigram ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sp_trained(tmp_path_factory):
    """SentencePiece models trained on the verses: (kind, byte_fallback, remove_extra_ws) → path."""
    import sentencepiece as spm

    d = tmp_path_factory.mktemp("spm")
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(t for t in training_texts(120) if t.strip()), encoding="utf-8")
    out = {}
    for kind, fallback, rm_ws in (
        ("unigram", False, True),
        ("unigram", True, True),
        ("unigram", False, False),
        ("bpe", True, False),
    ):
        name = f"{kind}-{int(fallback)}-{int(rm_ws)}"
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(d / name),
            vocab_size=2500,
            model_type=kind,
            byte_fallback=fallback,
            remove_extra_whitespaces=rm_ws,
            normalization_rule_name="nmt_nfkc" if kind == "unigram" else "identity",
            character_coverage=0.9995,
            num_threads=1,
            minloglevel=2,
            user_defined_symbols=["<sep_x>"],
        )
        out[(kind, fallback, rm_ws)] = d / f"{name}.model"
    return out


def plain_texts() -> list[str]:
    # all-space texts are the one place llama.cpp's prefix rule differs from SentencePiece's
    return [t for t in sample_texts() if t.strip()]


@pytest.mark.parametrize("rm_ws", [True, False])
def test_unigram_matches_sentencepiece(tmp_path, sp_trained, rm_ws):
    import sentencepiece as spm

    model = sp_trained[("unigram", False, rm_ws)]
    sp = spm.SentencePieceProcessor(model_file=str(model))
    path = write_gguf(tmp_path / "t5.gguf", sentencepiece_kv(model), arch="t5")
    got = load_tokenizer(path).tokenizer
    for text in plain_texts():
        assert got.encode(text, add_special_tokens=False).ids == sp.encode(text), text
    # eos appended by default for t5
    assert got.encode("hello").ids == sp.encode("hello") + [sp.eos_id()]


def test_unigram_follows_llama_cpp_where_sentencepiece_differs(tmp_path, sp_trained):
    """No byte fallback in llama.cpp's UGM: where SentencePiece spells an uncovered stretch in
    bytes, llama.cpp has one <unk> (same lattice, same unknown penalty). User-defined pieces cut
    the text into separately normalised parts (SentencePiece keeps a "▁" before them)."""
    import sentencepiece as spm

    model = sp_trained[("unigram", True, True)]
    sp = spm.SentencePieceProcessor(model_file=str(model))
    got = load_tokenizer(write_gguf(tmp_path / "t5.gguf", sentencepiece_kv(model))).tokenizer

    def bytes_to_unk(ids: list[int]) -> list[int]:
        out: list[int] = []
        for i in ids:
            if not sp.is_byte(i):
                out.append(i)
            elif not out or out[-1] != sp.unk_id():
                out.append(sp.unk_id())
        return out

    rare = "\U0001f99c\U0001f99c"  # not among the verses
    texts = plain_texts() + [f"a {rare} b"]
    assert sp.unk_id() not in sp.encode(rare) and any(map(sp.is_byte, sp.encode(rare)))
    for text in texts:
        assert got.encode(text, add_special_tokens=False).ids == bytes_to_unk(sp.encode(text))
    sep = sp.piece_to_id("<sep_x>")
    assert got.encode("a <sep_x> b", add_special_tokens=False).ids == [
        *sp.encode("a"),
        sep,
        *sp.encode("b"),
    ]
    assert sp.encode("a <sep_x> b")[: len(sp.encode("a")) + 1] != [*sp.encode("a"), sep]


# ---- llama: SentencePiece BPE --------------------------------------------------------------
def test_sentencepiece_bpe_matches_sentencepiece(tmp_path, sp_trained):
    """A `llama` GGUF (identity normalisation) against SentencePiece itself; llama.cpp puts the
    space prefix after every special piece, SentencePiece only at the start."""
    import sentencepiece as spm

    model = sp_trained[("bpe", True, False)]
    sp = spm.SentencePieceProcessor(model_file=str(model))
    kv = sentencepiece_kv(model, model="llama")
    got = load_tokenizer(write_gguf(tmp_path / "spm.gguf", kv, arch="llama")).tokenizer
    for text in plain_texts() + CODE:
        assert got.encode(text, add_special_tokens=False).ids == sp.encode(text), text
    assert got.encode("x").ids == [sp.bos_id(), *sp.encode("x")]
    sep = sp.piece_to_id("<sep_x>")
    assert got.encode("a<sep_x>b", add_special_tokens=False).ids == [
        *sp.encode("a"),
        sep,
        *sp.encode("b"),  # "▁b": prefixed again
    ]


# ---- rwkv ----------------------------------------------------------------------------------
def rwkv_tokens(extra: list[bytes]) -> list[str]:
    """convert_hf_to_gguf's RWKV spelling: id 0 is <s>, then repr(bytes)[2:-1] per token."""
    body = [bytes([b]) for b in range(256)] + extra
    return ["<s>"] + [repr(b)[2:-1] for b in body]


def greedy_bytes(vocab: list[bytes], text: str) -> list[int]:
    """Longest vocabulary entry at each position, left to right (ids as in `rwkv_tokens`)."""
    index = {t: i + 1 for i, t in enumerate(vocab)}
    data, out, pos = text.encode("utf-8"), [], 0
    longest = max(map(len, vocab))
    while pos < len(data):
        n = next(
            n for n in range(min(longest, len(data) - pos), 0, -1) if data[pos : pos + n] in index
        )
        out.append(index[data[pos : pos + n]])
        pos += n
    return out


def test_rwkv_greedy_longest_match(tmp_path):
    words = [w.encode() for w in ("the", " the", " and", "and", " th", "ing", " said", "\n\n")]
    words += ["中文".encode(), "中".encode()[:2], b"'\\\"", b"\t\xff\x00"]
    tokens = rwkv_tokens(words)
    types = [CONTROL] + [NORMAL] * (len(tokens) - 1)
    kv = {"model": "rwkv", "tokens": tokens, "types": types}
    got = load_tokenizer(write_gguf(tmp_path / "rwkv.gguf", kv, arch="rwkv6")).tokenizer
    vocab = [bytes([b]) for b in range(256)] + words
    for text in sample_texts(per_language=5) + ["the thing said 中文\t\n\n'\\\""]:
        assert got.encode(text).ids == greedy_bytes(vocab, text), text
    assert got.decode(got.encode("the 中文").ids) == "the 中文"
    canon = canonicalize(load_tokenizer(tmp_path / "rwkv.gguf"))  # usable as a transfer target
    assert canon.kind == "byte_level" and [s.id for s in canon.specials] == [0]
    assert [canon.bytes_of(i) for i in range(1, canon.size)] == vocab


# ---- refused kinds, broken files -----------------------------------------------------------
@pytest.mark.parametrize(
    "kind", ["plamo2", "none", "no_vocab", "gemma4", "hybriddna", "whitespace"]
)
def test_unsupported_model_kind_named(tmp_path, kind):
    kv = {"model": kind, "tokens": ["a", "b"]}
    with pytest.raises(TokenizerError, match=f"tokenizer model '{kind}' is not supported"):
        load_tokenizer(write_gguf(tmp_path / "x.gguf", kv))


def test_unknown_model_kind_named(tmp_path):
    with pytest.raises(TokenizerError, match="unknown tokenizer model 'wordlevel'.*gpt2, llama"):
        load_tokenizer(write_gguf(tmp_path / "x.gguf", {"model": "wordlevel", "tokens": ["a"]}))


def test_gguf_without_tokenizer(tmp_path):
    import gguf

    path = tmp_path / "weights-only.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_tensor("x.weight", np.zeros((2, 2), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(TokenizerError, match="weights-only.gguf: the GGUF file has no tokenizer"):
        load_tokenizer(path)


def test_truncated_or_foreign_file_is_one_clear_error(tmp_path):
    kv = {"model": "gpt2", "pre": "gpt-2", "tokens": ["a", "b", "ab"] * 1, "merges": ["a b"]}
    whole = write_gguf(tmp_path / "whole.gguf", kv, tensor=True).read_bytes()
    cuts = [0, 3, 10, 30, 120, len(whole) // 2, len(whole) - 40]
    for cut in cuts:
        path = tmp_path / f"cut{cut}.gguf"
        path.write_bytes(whole[:cut])
        with pytest.raises(TokenizerError) as e:
            load_tokenizer(path)
        msg = str(e.value)
        assert str(path) in msg and ("truncated" in msg or "empty" in msg), msg
        assert "\n" not in msg
    text = tmp_path / "notes.gguf"
    text.write_text("just some text, not GGUF")
    with pytest.raises(TokenizerError, match="notes.gguf: not a GGUF file"):
        load_tokenizer(text)


def test_bad_metadata_is_named(tmp_path):
    cases = {
        "dup": ({"model": "gpt2", "tokens": ["a", "a"], "merges": ["a a"]}, "'a' appears twice"),
        "merge": (
            {"model": "gpt2", "pre": "gpt-2", "tokens": ["a", "b"], "merges": ["a b"]},
            "merge #0 'a b' uses 'ab'",
        ),
        "bos": (
            {"model": "gpt2", "pre": "llama-bpe", "tokens": ["a", "b", "ab"], "merges": ["a b"]},
            "add_bos_token is true but tokenizer.ggml.bos_token_id is not set",
        ),
        "types": (
            {"model": "llama", "tokens": ["a", "b"], "types": [1]},
            "token_type has 1 entries for 2 tokens",
        ),
    }
    for name, (kv, message) in cases.items():
        with pytest.raises(TokenizerError, match=message):
            load_tokenizer(write_gguf(tmp_path / f"{name}.gguf", kv))


# ---- special tokens ------------------------------------------------------------------------
def test_control_tokens_by_name_and_defaults(tmp_path):
    """llama.cpp makes "<|im_end|>" a control token whatever its stored type; its fallback ids
    (gpt2: bos = eos = 11, none for chatglm-bpe; llama: 1, 2, 0; t5: eos 1, unk 2, pad 0) apply
    where the file names none, and add eos for t5 and bos for llama by default."""
    tokens = ["<unk>", "<s>", "</s>", "a", "b", "ab", "<|im_end|>", "c", "d", "e", "f", "g"]
    kv = {"model": "gpt2", "pre": "gpt-2", "tokens": tokens, "merges": ["a b"]}
    kv["types"] = [CONTROL] * 3 + [NORMAL] * 9
    g = read_gguf_tokenizer(write_gguf(tmp_path / "g.gguf", kv, arch="mpt"))
    assert g.tokenizer.encode("ab<|im_end|>").tokens == ["ab", "<|im_end|>"]
    assert g.tokenizer.encode("ab").ids == [5]  # gpt2 + gpt-2: no bos, no eos
    assert g.roles == {}  # the fallback 11 is an ordinary token: no role for it
    g = read_gguf_tokenizer(write_gguf(tmp_path / "g.gguf", {**kv, "add_bos_token": True}))
    assert g.tokenizer.encode("ab").ids == [11, 5]
    glm = {**kv, "pre": "chatglm-bpe", "add_bos_token": True}
    with pytest.raises(TokenizerError, match="add_bos_token is true but"):
        read_gguf_tokenizer(write_gguf(tmp_path / "glm.gguf", glm))
    g = read_gguf_tokenizer(write_gguf(tmp_path / "glm.gguf", {**glm, "bos_token_id": 1}))
    assert g.roles == {"bos": 1} and g.tokenizer.encode("ab").ids == [1, 5]
    spm_kv = {"model": "llama", "tokens": tokens, "types": kv["types"], "scores": [0.0] * 12}
    spm = read_gguf_tokenizer(write_gguf(tmp_path / "s.gguf", spm_kv, arch="llama"))
    assert spm.roles == {"bos": 1, "eos": 2, "unk": 0}
    assert spm.tokenizer.encode("ab").ids[0] == 1
    t5 = read_gguf_tokenizer(write_gguf(tmp_path / "t.gguf", {**spm_kv, "model": "t5"}))
    assert t5.roles == {"eos": 1, "unk": 2, "pad": 0} and t5.tokenizer.encode("b").ids[-1] == 1


def test_saved_files_load_in_transformers(tmp_path, minilm_pair):
    from transformers import AutoTokenizer

    want, _ = minilm_pair
    path = write_gguf(tmp_path / "m.gguf", wordpiece_kv(want), arch="nomic-bert")
    read_gguf_tokenizer(path).save(tmp_path / "hf")
    hf = AutoTokenizer.from_pretrained(tmp_path / "hf")
    for text in [t for t in EDGE if strips_alike(t)]:
        assert hf(text)["input_ids"] == want.encode(text).ids
    assert hf.cls_token_id is None or hf.sep_token_id is not None
