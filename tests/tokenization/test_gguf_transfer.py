"""`zett transfer --tokenizer X.gguf` takes any GGUF whose tokenizer zett reads, whatever the file's
model architecture, and ships that tokenizer with the new model."""

from __future__ import annotations

import json

import pytest
from _gguf_files import byte_level_bpe_kv, write_gguf
from _gguf_texts import sample_texts, training_texts
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from zett import assets
from zett.cli.main import main
from zett.tokenization import read_gguf_tokenizer


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    """A random one-layer Llama over SmolLM2's vocabulary, tokenizer from SmolLM2's GGUF."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=49152,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=True,
    )
    d = tmp_path_factory.mktemp("model")
    LlamaForCausalLM(cfg).save_pretrained(d)
    read_gguf_tokenizer(assets.smollm2_gguf()).save(d)
    return d


def test_transfer_onto_gpt2_architecture_gguf(tmp_path, tiny_llama):
    from transformers import AutoTokenizer

    want = Tokenizer(models.BPE())
    want.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    want.decoder = decoders.ByteLevel()
    want.train_from_iterator(
        training_texts(60),
        trainers.BpeTrainer(
            vocab_size=1200,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    kv = byte_level_bpe_kv(want, "gpt-2", eos_token_id=0)
    target = write_gguf(tmp_path / "gpt2-tok.gguf", kv, arch="gpt2", tensor=True)
    out = tmp_path / "out"
    args = ["transfer", "--model", str(tiny_llama), "--tokenizer", str(target)]
    assert main(args + ["--method", "fvt", "--out", str(out), "--quiet"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vocab_size"] == want.get_vocab_size() and cfg["eos_token_id"] == 0
    hf = AutoTokenizer.from_pretrained(out)
    for text in sample_texts(per_language=5):
        assert hf(text)["input_ids"] == want.encode(text).ids, text


def test_transfer_names_a_truncated_gguf_tokenizer(tmp_path, tiny_llama, capsys):
    kv = {"model": "gpt2", "pre": "gpt-2", "tokens": ["a", "b", "ab"], "merges": ["a b"]}
    whole = write_gguf(tmp_path / "whole.gguf", kv).read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    args = ["transfer", "--model", str(tiny_llama), "--tokenizer", str(cut), "--method", "fvt"]
    assert main(args + ["--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(cut) in err and "truncated" in err and "Traceback" not in err
    assert not out.exists()
