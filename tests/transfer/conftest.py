"""Fixtures: a tiny random Llama with SmolLM2's real tokenizer, and a Unigram tokenizer trained on
Bible verses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from zett import assets


def bible_text(per_bible: int = 60, stride: int = 53) -> list[str]:
    con = sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT DISTINCT bbName FROM bible ORDER BY bbName")]
        out: list[str] = []
        for n in names:
            rows = con.execute(
                "SELECT vText FROM bible WHERE bbName=? AND (id % ?)=0 LIMIT ?",
                (n, stride, per_bible),
            )
            out += [r[0] for r in rows if r[0]]
        return out
    finally:
        con.close()


@pytest.fixture(scope="session")
def verses() -> list[str]:
    return bible_text()


@pytest.fixture(scope="session")
def unigram_dir(tmp_path_factory, verses) -> Path:
    """A HF tokenizer directory: Unigram (Metaspace) trained on the verses, with <s>, </s>, <pad>,
    <unk>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=2000, special_tokens=["<unk>", "<s>", "</s>", "<pad>"], unk_token="<unk>"
    )
    tok.train_from_iterator(verses, trainer)
    d = tmp_path_factory.mktemp("unigram")
    tok.save(str(d / "tokenizer.json"))
    return d


@pytest.fixture(scope="session")
def smollm2_tokenizer_dir(tmp_path_factory) -> Path:
    from zett.checkpoint import read_gguf

    d = tmp_path_factory.mktemp("smol_tok")
    read_gguf(assets.smollm2_gguf(), tensors=False).save_tokenizer(d)
    return d


def tiny_llama(out: Path, tokenizer_dir: Path, tied: bool, dtype: str = "float32") -> Path:
    """A random 2-layer Llama over SmolLM2's 49,152-token vocabulary, saved by transformers."""
    import shutil

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=49152,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=tied,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(cfg).to(getattr(torch, dtype))
    model.save_pretrained(out)
    for f in tokenizer_dir.iterdir():
        shutil.copy2(f, out / f.name)
    return out


@pytest.fixture(scope="session")
def llama_tied(tmp_path_factory, smollm2_tokenizer_dir) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("tied"), smollm2_tokenizer_dir, tied=True)


@pytest.fixture(scope="session")
def llama_untied(tmp_path_factory, smollm2_tokenizer_dir) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("untied"), smollm2_tokenizer_dir, tied=False)


@pytest.fixture(scope="session")
def llama_bf16(tmp_path_factory, smollm2_tokenizer_dir) -> Path:
    return tiny_llama(
        tmp_path_factory.mktemp("bf16"), smollm2_tokenizer_dir, tied=False, dtype="bfloat16"
    )
