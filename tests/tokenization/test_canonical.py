"""Canonical byte-level view of real tokenizers: every token's bytes, leading spaces, byte fallback,
special roles."""

from __future__ import annotations

import json

import pytest
from tokenizers import decoders

from zett.tokenization import (
    CanonicalVocab,
    SpecialToken,
    TokenizerError,
    canonicalize,
    load_tokenizer,
)
from zett.tokenization.canonical import BYTE_PIECE, canonicalize_json


def _decoded_texts(loaded, canon: CanonicalVocab, ids: list[int]) -> list[str]:
    """What the original decoder makes of each id, read after an anchor word so leading spaces
    survive."""
    tok = loaded.tokenizer
    if (
        canon.kind == "wordpiece"
    ):  # BERT's decoder "cleans up" spaces before punctuation: look at raw pieces
        dec = decoders.WordPiece(prefix="##", cleanup=False)
        return [dec.decode(["the", tok.id_to_token(i)])[3:] for i in ids]
    anchor = _anchor(canon)
    head = tok.decode([anchor], skip_special_tokens=False)
    both = tok.decode_batch([[anchor, i] for i in ids], skip_special_tokens=False)
    assert all(t.startswith(head) for t in both)
    return [t[len(head) :] for t in both]


def _anchor(canon: CanonicalVocab) -> int:
    for t in ("Ġthe", "the", "Ġa", "a", "t"):
        if (i := canon.id_of(t)) is not None:
            return i
    raise AssertionError("no anchor token")


def check_round_trip(loaded, canon: CanonicalVocab) -> dict[str, int]:
    """Canonical bytes of every regular token decode to the text the original decoder gives for it."""
    ids = list(canon.regular_ids)
    texts = _decoded_texts(loaded, canon, ids)
    stats = {"checked": 0, "partial_utf8": 0}
    bad = []
    for i, text in zip(ids, texts):
        b = canon.bytes_of(i)
        try:
            s = b.decode("utf-8")
        except UnicodeDecodeError:
            stats["partial_utf8"] += 1  # a lone piece of a character: the decoder shows U+FFFD
            assert "\ufffd" in text, (i, b, text)
            continue
        stats["checked"] += 1
        if s != text:
            bad.append((i, loaded.tokenizer.id_to_token(i), s, text))
    assert not bad, f"{len(bad)} tokens disagree, e.g. {bad[:5]}"
    return stats


def test_smollm2_byte_level(smollm2):
    canon = canonicalize(smollm2)
    assert canon.kind == "byte_level" and canon.size == 49152 and not canon.shadowed
    stats = check_round_trip(smollm2, canon)
    assert stats["checked"] > 48000 and stats["partial_utf8"] > 0
    vocab = smollm2.tokenizer.get_vocab()
    assert canon.tokens[vocab["Ġthe"]] == "Ġthe" and canon.bytes_of(vocab["Ġthe"]) == b" the"
    roles = {s.token: s.roles for s in canon.specials}
    assert roles["<|im_start|>"][0] == "bos" and "turn_start" in roles["<|im_start|>"]
    assert roles["<|im_end|>"][0] == "eos" and "turn_end" in roles["<|im_end|>"]
    assert canon.special("eos").token == "<|im_end|>" and canon.special("pad").token == "<|im_end|>"
    assert all(canon.tokens[i] == "" for i in canon.special_ids)


def test_gemma3_sentencepiece_with_byte_fallback(gemma3):
    canon = canonicalize(gemma3)
    assert canon.kind == "metaspace" and canon.size == 262144
    vocab = gemma3.tokenizer.get_vocab()
    byte_ids = {
        int(BYTE_PIECE.match(p).group(1), 16): i for p, i in vocab.items() if BYTE_PIECE.match(p)
    }
    assert sorted(byte_ids) == list(range(256))
    assert all(canon.bytes_of(byte_ids[b]) == bytes([b]) for b in range(256))  # 0xFF included
    # a byte piece duplicating an ordinary piece is shadowed; id_of gives the ordinary one
    assert canon.shadowed and canon.shadowed <= set(byte_ids.values())
    assert canon.id_of("A") == vocab["A"] != byte_ids[0x41] and byte_ids[0x41] in canon.shadowed
    assert (
        canon.id_of("ÿ") == byte_ids[0xFF]
    )  # 0xFF alone is no character: only the byte piece spells it
    assert canon.bytes_of(vocab["▁the"]) == b" the"
    stats = check_round_trip(gemma3, canon)
    assert stats["checked"] > 255000
    sp = {s.role: s for s in canon.specials}
    assert (sp["pad"].id, sp["eos"].id, sp["bos"].id, sp["unk"].id) == (0, 1, 2, 3)
    assert sp["turn_start"].token == "<start_of_turn>" and sp["turn_end"].token == "<end_of_turn>"
    assert sp["mask"].token == "<mask>"


def test_minilm_wordpiece(minilm):
    canon = canonicalize(minilm)
    assert canon.kind == "wordpiece" and canon.size == 30522
    vocab = minilm.tokenizer.get_vocab()
    assert canon.bytes_of(vocab["##ing"]) == b"ing"  # continuation: no space
    assert canon.bytes_of(vocab["the"]) == b" the"  # word start: leading space
    assert canon.bytes_of(vocab["."]) == b" ."
    check_round_trip(minilm, canon)
    assert {s.role: s.token for s in canon.specials} == {
        "pad": "[PAD]",
        "unk": "[UNK]",
        "cls": "[CLS]",
        "sep": "[SEP]",
        "mask": "[MASK]",
    }


def test_minilm_vocab_txt_matches_tokenizer_json(minilm):
    from zett import assets

    a = canonicalize(assets.minilm_dir() / "vocab.txt")
    b = canonicalize(minilm)
    assert a.tokens == b.tokens and {s.token for s in a.specials} == {s.token for s in b.specials}


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_loaded_sentencepiece_segments_like_sentencepiece(sp_models, verses, kind):
    import sentencepiece as spm

    proc = spm.SentencePieceProcessor(model_file=str(sp_models[kind]))
    tok = load_tokenizer(sp_models[kind]).tokenizer
    mine = [e.ids for e in tok.encode_batch(verses, add_special_tokens=False)]
    same = sum(a == b for a, b in zip(proc.encode(verses), mine))
    assert (
        same / len(verses) > 0.99
    )  # measured 99.85% on 4,650 verses (benchmarks/byte_level_agreement.py)


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_trained_sentencepiece(sp_models, kind):
    import sentencepiece as spm

    loaded = load_tokenizer(sp_models[kind])
    canon = canonicalize(loaded)
    proc = spm.SentencePieceProcessor(model_file=str(sp_models[kind]))
    assert canon.size == proc.get_piece_size()
    assert {s.role for s in canon.specials} == {"unk", "bos", "eos"}
    # byte pieces → their byte; user-defined symbol kept as an ordinary token; "▁" → space
    for i in range(canon.size):
        p = proc.id_to_piece(i)
        if proc.is_byte(i):
            assert canon.bytes_of(i) == bytes([int(p[3:5], 16)])
        elif not proc.is_control(i) and not proc.is_unknown(i):
            assert canon.bytes_of(i) == p.replace("▁", " ").encode()
    assert canon.id_of(canon.tokens[loaded.tokenizer.token_to_id("<sep_x>")]) is not None
    check_round_trip(loaded, canon)


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_trained_with_tokenizers(hf_trained, kind):
    loaded = load_tokenizer(hf_trained[kind])
    canon = canonicalize(loaded)
    assert canon.kind == ("metaspace" if kind == "unigram" else "byte_level")
    check_round_trip(loaded, canon)


# ---------------------------------------------------------------------------------------------------------------
# Bad input


def _wordpiece_json(vocab: dict[str, int]) -> dict:
    return {
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "vocab": vocab,
        },
        "added_tokens": [{"id": vocab["[UNK]"], "content": "[UNK]", "special": True}],
    }


def test_holes_in_ids_are_an_error():
    with pytest.raises(TokenizerError, match="holes.*first: \\[1\\]"):
        canonicalize_json(_wordpiece_json({"[UNK]": 0, "a": 2}))


def test_same_id_twice_is_an_error():
    tj = {"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}}
    with pytest.raises(TokenizerError, match="id 0"):
        canonicalize_json(tj)


def test_two_tokens_with_the_same_bytes_are_an_error():
    # "▁a" and an added " a" spell the same bytes, and neither is a byte-fallback piece
    tj = {
        "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁a", -1.0]]},
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        "added_tokens": [
            {"id": 0, "content": "<unk>", "special": True},
            {"id": 2, "content": " a", "special": False},
        ],
    }
    with pytest.raises(TokenizerError, match="same bytes"):
        canonicalize_json(tj)


def test_canonical_vocab_validation():
    with pytest.raises(TokenizerError, match="duplicate token 'ab'"):
        CanonicalVocab(("ab", "c", "ab"))
    with pytest.raises(TokenizerError, match="id 1 is empty"):
        CanonicalVocab(("ab", "", "c"))
    with pytest.raises(TokenizerError, match="U\\+2581"):
        CanonicalVocab(("ab", "▁c"))
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        CanonicalVocab(("ab",), (SpecialToken("eos", "</s>", 3),))
    # a lone lead byte (not UTF-8 on its own) is a valid token: it stands for that byte
    v = CanonicalVocab.from_tokens(["<s>", "Ã", "Ã©"], [SpecialToken("bos", "<s>", 0)])
    assert (
        v.bytes_of(1) == b"\xc3"
        and v.id_of("Ã©") == 2
        and v.id_of("") is None
        and v.special_ids == (0,)
    )


def test_wordpiece_vocab_txt_errors(tmp_path):
    p = tmp_path / "vocab.txt"
    p.write_text("[UNK]\na\nb\na\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match="duplicate token 'a'"):
        load_tokenizer(p)
    p.write_text("[UNK]\na\n\nb\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match="empty token"):
        load_tokenizer(p)


def test_unknown_sources_fail_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TokenizerError, match="Hugging Face hub"):
        load_tokenizer("someone/missing-tokenizer")
    with pytest.raises(TokenizerError, match="no such file"):
        load_tokenizer(str(tmp_path / "nope" / "tokenizer.json"))
    (tmp_path / "x.bin").write_bytes(b"\0")
    with pytest.raises(TokenizerError, match="unknown tokenizer file type"):
        load_tokenizer(tmp_path / "x.bin")
    with pytest.raises(TokenizerError, match="no tokenizer.json"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {}}))
    with pytest.raises(TokenizerError, match="tokenizer.json"):
        load_tokenizer(tmp_path / "tokenizer.json")
