"""Byte-level BPE GGUF tokenizers (`tokenizer.ggml.model = gpt2`) for many `tokenizer.ggml.pre` kinds,
id for id against the Hugging Face tokenizer they were converted from.

One BPE is trained on a coarse split (whitespace-led chunks keep digits, punctuation and letters
together), so its merges cross every boundary a pre-tokenizer draws: a wrong split shows up as
different ids. Each "original" is that BPE behind the pre-tokenizer the model family ships in its
tokenizer.json; the GGUF file carries only the vocabulary, the merges and the `pre` name."""

from __future__ import annotations

import json

import pytest
from _gguf_files import byte_level_bpe_kv, write_gguf
from _gguf_texts import CODE, sample_texts, training_texts
from tokenizers import Regex, Tokenizer, decoders, models, trainers
from tokenizers import pre_tokenizers as P

from zett import assets
from zett.tokenization import TokenizerError, from_canonical, load_tokenizer
from zett.tokenization.gguf_pre import PRE, UNSUPPORTED

BL = P.ByteLevel(add_prefix_space=False, use_regex=False)


def split(regex: str) -> P.PreTokenizer:
    return P.Split(Regex(regex), "isolated")


_L3 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_Q2 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_DIGITS_GPT2 = P.Sequence([P.Digits(individual_digits=True), P.ByteLevel(add_prefix_space=False)])
# The pre-tokenizers of the HF tokenizer.json files these GGUF `pre` names were made from
# (pre name → (pre-tokenizer, BPE ignore_merges))
ORIGINAL = {
    "gpt-2": (P.ByteLevel(add_prefix_space=False), False),
    "llama-bpe": (P.Sequence([split(_L3), BL]), True),
    "dbrx": (P.Sequence([split(_L3), BL]), False),
    "qwen2": (P.Sequence([split(_Q2), BL]), False),
    "stablelm2": (P.Sequence([split(_Q2), BL]), False),
    "starcoder": (_DIGITS_GPT2, False),
    "command-r": (_DIGITS_GPT2, False),
    "smollm": (_DIGITS_GPT2, False),
    "deepseek-coder": (
        P.Sequence(
            [
                split("[\r\n]"),
                split(r"\s?\p{L}+"),
                split(r"\s?\p{P}+"),
                split("[一-龥ࠀ-一가-퟿]+"),
                P.Digits(individual_digits=True),
                BL,
            ]
        ),
        False,
    ),
    "bloom": (P.Sequence([split(" ?[^(\\s|[.,!?…。，、।۔،])]+"), BL]), False),
    "deepseek-v3": (
        P.Sequence(
            [
                split(r"\p{N}{1,3}"),
                split("[一-龥぀-ゟ゠-ヿ]+"),
                split(
                    r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?"
                    r"[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
                ),
                BL,
            ]
        ),
        False,
    ),
}


@pytest.fixture(scope="module")
def coarse_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and merges of a byte-level BPE trained on whitespace-led chunks."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = P.Sequence([split(r"\s*\S+|\s+"), BL])
    tok.train_from_iterator(
        training_texts(),
        trainers.BpeTrainer(
            vocab_size=3000,
            initial_alphabet=P.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    model = json.loads(tok.to_str())["model"]
    return model["vocab"], [tuple(m) for m in model["merges"]]


def original(coarse_bpe, pre: str) -> Tokenizer:
    vocab, merges = coarse_bpe
    pre_tokenizer, ignore_merges = ORIGINAL[pre]
    tok = Tokenizer(models.BPE(vocab, merges, ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    return tok


def gguf_of(tmp_path, tok: Tokenizer, pre: str, arch: str = "gpt2", **extra):
    eot = tok.token_to_id("<|endoftext|>")
    kv = byte_level_bpe_kv(tok, pre, bos_token_id=eot, eos_token_id=eot, **extra)
    return write_gguf(tmp_path / f"{pre}.gguf", kv, arch=arch)


def assert_same_ids(want: Tokenizer, got: Tokenizer, texts: list[str]) -> None:
    for text in texts:
        a = want.encode(text, add_special_tokens=False)
        b = got.encode(text, add_special_tokens=False)
        assert a.ids == b.ids, (text, a.tokens, b.tokens)


@pytest.mark.parametrize("pre", sorted(ORIGINAL))
def test_round_trip_id_for_id(tmp_path, coarse_bpe, pre):
    want = original(coarse_bpe, pre)
    got = load_tokenizer(gguf_of(tmp_path, want, pre, arch="some-new-arch")).tokenizer
    texts = sample_texts() + ["<|im_start|>user\nHi 123<|im_end|>\n<|endoftext|>"]
    assert_same_ids(want, got, texts)
    for text in CODE:
        assert got.decode(got.encode(text).ids) == text


def test_llama3_family_adds_bos_and_takes_whole_tokens(tmp_path, coarse_bpe):
    """llama-bpe: add_bos defaults to true, and a piece that is itself a token skips the merges."""
    want = original(coarse_bpe, "llama-bpe")
    eot = want.token_to_id("<|endoftext|>")
    got = load_tokenizer(gguf_of(tmp_path, want, "llama-bpe")).tokenizer
    assert got.encode("Hello").ids == [eot, *want.encode("Hello").ids]
    got = load_tokenizer(gguf_of(tmp_path, want, "llama-bpe", add_bos_token=False)).tokenizer
    assert got.encode("Hello").ids == want.encode("Hello").ids
    # a vocabulary whose merges cannot build "ab" although "ab" is a token
    kv = {
        "model": "gpt2",
        "tokens": ["a", "b", "c", "bc", "ab"],
        "merges": ["b c"],
        "add_bos_token": False,
    }
    ignore = load_tokenizer(write_gguf(tmp_path / "a.gguf", {**kv, "pre": "llama-bpe"}))
    plain = load_tokenizer(write_gguf(tmp_path / "b.gguf", {**kv, "pre": "gpt-2"}))
    assert ignore.tokenizer.encode("ab").tokens == ["ab"]
    assert plain.tokenizer.encode("ab").tokens == ["a", "b"]


def pieces(tmp_path, pre: str, text: str) -> list[str]:
    """llama.cpp's pre-tokens for `text` under `pre`, as zett rebuilds them."""
    kv = {"model": "gpt2", "tokens": ["a", "b", "ab"], "merges": ["a b"], "add_bos_token": False}
    if pre:
        kv["pre"] = pre  # the tiny vocabulary has no bos
    tok = load_tokenizer(write_gguf(tmp_path / f"{pre}-pieces.gguf", kv)).tokenizer
    return [from_canonical(p).decode() for p, _ in tok.pre_tokenizer.pre_tokenize_str(text)]


def test_where_llama_cpp_splits_differently_from_hf(tmp_path):
    """Documented differences: zett follows llama.cpp's regexes (expected pieces worked out by hand
    from llama-vocab.cpp and unicode.cpp), not the HF originals."""
    # falcon: no separate digit step, so a space stays on a short number (HF: " ", "12")
    assert pieces(tmp_path, "falcon", "a 12 1234") == ["a", " 12", " ", "123", "4"]
    # gpt-4o: the upper/lower runs need \p{L} ahead, so combining marks split Devanagari words
    # (HF keeps "नमस्ते" whole); any non-ASCII letter continues a lowercase run (HF: "foo", "Äbc")
    assert pieces(tmp_path, "gpt-4o", "नमस्ते") == ["नमस", "्त", "े"]
    assert pieces(tmp_path, "tekken", "fooÄbc Foo") == ["fooÄbc", " Foo"]
    # deepseek-llm/-coder: llama.cpp runs \p-free regexes on text whose non-ASCII spaces became \v,
    # so the CJK range U+0800-U+4E00 does not take them (HF: ..., " x", "\u2009", "y")
    want = ["全", "\u3000", "角", " x", "\u2009y"]
    assert pieces(tmp_path, "deepseek-llm", "全\u3000角 x\u2009y") == want
    # llama.cpp does not NFC-normalise (HF qwen2 does): a decomposed é stays two code points
    assert pieces(tmp_path, "qwen2", "e\u0301") == ["e", "\u0301"]


def test_hand_written_matchers(tmp_path):
    """Where llama.cpp uses a hand-written matcher instead of its regex string (expected pieces
    worked out by hand from unicode.cpp)."""
    # gpt-2's matcher also takes a lone whitespace run the regex string has no branch for
    assert pieces(tmp_path, "gpt-2", "a \t\nb") == ["a", " \t", "\n", "b"]
    # afmoe: digits in threes from the right, non-digits before a run joined to its first group
    # (then split off again by the next regex)
    assert pieces(tmp_path, "afmoe", "ab12345x") == ["ab", "12", "345", "x"]
    # tiny_aya's digit regex runs on afmoe's matcher
    assert pieces(tmp_path, "tiny_aya", "1234567 x") == ["1", "234", "567", " x"]
    # kimi-k2: Han runs apart from other letters, contractions stay on the word
    assert pieces(tmp_path, "kimi-k2", "Hello世界 it's 12345") == [
        "Hello",
        "世界",
        " it's",
        " ",
        "123",
        "45",
    ]


@pytest.mark.parametrize("pre", sorted(PRE))
def test_every_known_pre_name_builds_and_covers_the_text(tmp_path, pre):
    """Each regex compiles in Oniguruma and the pieces tile the input, for every name llama.cpp
    knows."""
    text = "".join(sample_texts(per_language=1)) + "IMGIMGABZ <sentinel:3> ~x 1234567"
    assert "".join(pieces(tmp_path, pre, text)) == text


@pytest.mark.parametrize("pre", sorted(UNSUPPORTED))
def test_known_but_unsupported_pre_is_refused_by_name(tmp_path, pre):
    kv = {"model": "gpt2", "pre": pre, "tokens": ["a", "b", "ab"], "merges": ["a b"]}
    with pytest.raises(TokenizerError, match=f"tokenizer.ggml.pre = '{pre}' is not supported"):
        load_tokenizer(write_gguf(tmp_path / "x.gguf", kv))


def test_unknown_pre_is_refused_listing_known(tmp_path):
    kv = {"model": "gpt2", "pre": "my-new-pre", "tokens": ["a", "b", "ab"], "merges": ["a b"]}
    with pytest.raises(TokenizerError, match="unknown tokenizer.ggml.pre = 'my-new-pre'") as e:
        load_tokenizer(write_gguf(tmp_path / "x.gguf", kv))
    assert "llama-bpe" in str(e.value) and "qwen2" in str(e.value) and "x.gguf" in str(e.value)


def test_missing_pre_means_llama_cpp_default(tmp_path):
    """No `pre`: llama.cpp's "default" (punctuation runs, GPT-2 regex, digit runs, 3-digit groups)."""
    assert pieces(tmp_path, "", "hi!! 12345 it's") == [
        "hi",
        "!!",
        " ",
        "123",
        "45",
        " it",
        "'",
        "s",
    ]


# ---- real tokenizers -------------------------------------------------------------------------
def test_smollm2_gguf_matches_its_hf_pipeline():
    """SmolLM2's own GGUF (pre "smollm") against its tokenizer.json pipeline (individual digits +
    GPT-2 byte level) over the same vocabulary."""
    got = load_tokenizer(assets.smollm2_gguf()).tokenizer
    spec = json.loads(got.to_str())
    want = Tokenizer(
        models.BPE(spec["model"]["vocab"], [tuple(m) for m in spec["model"]["merges"]])
    )
    want.pre_tokenizer = _DIGITS_GPT2
    want.add_special_tokens([a["content"] for a in spec["added_tokens"]])
    assert_same_ids(want, got, sample_texts() + ["<|im_start|>user\nHi<|im_end|>"])


@pytest.mark.slow
def test_qwen2_gguf_matches_the_qwen2_tokenizer(tmp_path):
    """Qwen2's tokenizer (151,643 merges) written as a GGUF with pre "qwen2"; HF's NFC step is the
    one llama.cpp lacks, so the text is NFC already."""
    want = Tokenizer.from_file(str(assets.qwen2_tokenizer_json()))
    kv = byte_level_bpe_kv(want, "qwen2", eos_token_id=151643)
    got = load_tokenizer(write_gguf(tmp_path / "qwen2.gguf", kv, arch="qwen2")).tokenizer
    assert_same_ids(want, got, sample_texts() + ["<|im_start|>user\nHi<|im_end|>"])
