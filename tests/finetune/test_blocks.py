"""Texts → token stream → blocks → batches, against hand-built cases."""

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from zett.finetune.batches import Masking, block_order, make_rows, mask_tokens
from zett.finetune.blocks import Blocks, Template, TokenStream, byte_offsets, token_bytes
from zett.tokenization import canonicalize, load_tokenizer


def test_byte_offsets_of_multibyte_text():
    # a: 1 byte, ü: 2, 世: 3, 🤗: 4
    np.testing.assert_array_equal(byte_offsets("aü世🤗"), [0, 1, 3, 6, 10])


def test_token_bytes_counts_each_byte_once():
    text = "Grüße 世"  # G r ü ß e ␠ 世 → 1 1 2 2 1 1 3 bytes
    # byte-level BPE splits one character over several tokens with the same character offsets
    offsets = [(0, 2), (2, 3), (3, 4), (3, 4), (4, 5), (5, 7), (6, 7), (6, 7)]
    np.testing.assert_array_equal(token_bytes(text, offsets), [2, 2, 2, 0, 1, 4, 0, 0])
    assert token_bytes(text, offsets).sum() == len(text.encode())


def test_token_bytes_of_a_real_byte_level_tokenizer():
    tok = load_tokenizer("smollm2").tokenizer
    text = "Grüße, 世界! 🤗 x"
    enc = tok.encode(text, add_special_tokens=False)
    assert token_bytes(text, enc.offsets).sum() == len(text.encode())


def test_template_of_a_tokenizer_without_specials_is_bos():
    tok = load_tokenizer("smollm2")
    vocab = canonicalize(tok)
    assert Template.of(tok.tokenizer, vocab, causal=True) == Template((1,), ())  # <|im_start|>
    bert = load_tokenizer("minilm")
    assert Template.of(bert.tokenizer, canonicalize(bert), causal=False) == Template((101,), (102,))


def _stream(ids, nb=None):
    ids = np.asarray(ids, np.int32)
    nb = np.ones_like(ids) if nb is None else np.asarray(nb, np.int32)
    return TokenStream(ids, nb, 1, 0, len(ids))


def test_pack_causal_and_mlm():
    s = _stream(np.arange(10, 21))  # 11 tokens
    causal = Blocks.pack(s, 4, Template((1,), ()), causal=True)
    np.testing.assert_array_equal(causal.ids, [[10, 11, 12, 13], [14, 15, 16, 17]])
    mlm = Blocks.pack(s, 5, Template((101,), (102,)), causal=False)
    np.testing.assert_array_equal(
        mlm.ids, [[101, 10, 11, 12, 102], [101, 13, 14, 15, 102], [101, 16, 17, 18, 102]]
    )
    np.testing.assert_array_equal(mlm.n_bytes[:, [0, 4]], 0)


def test_block_order_is_a_permutation_per_epoch():
    seen = np.concatenate([block_order(10, 3, 0, t) for t in range(3)])
    assert len(set(seen.tolist())) == 9  # one epoch: 3 batches of distinct blocks (1 left out)
    np.testing.assert_array_equal(block_order(10, 3, 0, 4), block_order(10, 3, 0, 4))
    assert not np.array_equal(block_order(10, 3, 0, 0), block_order(10, 3, 1, 0))
    with pytest.raises(ValueError, match="gives 2 blocks, fewer than data.batch_size=3"):
        block_order(2, 3, 0, 0)


def test_causal_rows_count_the_bytes_of_predicted_tokens():
    blocks = Blocks(np.asarray([[1, 5, 6, 7]], np.int32), np.asarray([[0, 2, 3, 4]], np.int32), "x")
    row = make_rows(blocks, np.asarray([0]), True, None, np.random.default_rng(0))
    np.testing.assert_array_equal(row.labels, [[1, 5, 6, 7]])
    assert int(row.n_bytes[0]) == 9  # position 0 is never predicted


def test_mlm_masking_rates_and_specials():
    rng = np.random.default_rng(0)
    ids = rng.integers(10, 1000, (64, 128))
    ids[:, 0], ids[:, -1] = 1, 2
    m = Masking(0.15, mask_id=3, special_ids=(0, 1, 2, 3), vocab_size=1000)
    inputs, labels = mask_tokens(ids, m, np.random.default_rng(1))
    chosen = labels >= 0
    assert not chosen[:, [0, -1]].any()  # specials are never masked
    np.testing.assert_array_equal(labels[chosen], ids[chosen])
    n = chosen.sum()
    assert abs(n / ids[:, 1:-1].size - 0.15) < 0.01  # 1.2k of 8k positions: ±3.5σ
    masked = (inputs == 3) & chosen
    kept = (inputs == ids) & chosen
    assert abs(masked.sum() / n - 0.8) < 0.04 and abs(kept.sum() / n - 0.1) < 0.03
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])


def test_word_level_tokenizer_template_has_no_specials():
    tok = Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    loaded = load_tokenizer(tok)
    assert Template.of(tok, canonicalize(loaded), causal=True) == Template((), ())
