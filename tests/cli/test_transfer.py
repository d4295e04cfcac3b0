"""Pulse test of `zett transfer`: a tiny Llama onto a Bible-trained Unigram tokenizer, and its error
path."""

from __future__ import annotations

import json
import sqlite3

import pytest

from zett import assets
from zett.cli.main import main


@pytest.fixture(scope="module")
def model_and_tokenizer(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM

    from zett.checkpoint import read_gguf

    con = sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True)
    verses = [r[0] for r in con.execute("SELECT vText FROM bible WHERE (id % 37)=0 LIMIT 3000")]
    con.close()
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(
        verses,
        trainers.UnigramTrainer(
            vocab_size=1000, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>"
        ),
    )
    root = tmp_path_factory.mktemp("cli")
    tok.save(str(root / "unigram.json"))
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
    LlamaForCausalLM(cfg).save_pretrained(root / "model")
    read_gguf(assets.smollm2_gguf(), tensors=False).save_tokenizer(root / "model")
    return root / "model", root / "unigram.json"


def test_cli_transfer(tmp_path, model_and_tokenizer, capsys):
    model, tok = model_and_tokenizer
    out = tmp_path / "out"
    args = [
        "transfer",
        "--model",
        str(model),
        "--tokenizer",
        str(tok),
        "--method",
        "fvt",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(args) == 0
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 1000
    assert (out / "tokenizer.json").read_bytes() == tok.read_bytes()
    assert json.loads((out / "zett_provenance.json").read_text())["method"] == "fvt"
    assert main(args) == 2  # exists: refused
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    assert (
        main(
            [
                "transfer",
                "--model",
                str(tmp_path / "nope"),
                "--tokenizer",
                str(tok),
                "--method",
                "fvt",
                "--out",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )
    assert "nope" in capsys.readouterr().err
