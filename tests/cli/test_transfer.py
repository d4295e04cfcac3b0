"""Pulse test of `zett transfer`: a tiny Llama onto a Bible-trained Unigram tokenizer, and its error
path."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
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


def test_cli_method_errors_come_before_any_work(tmp_path, model_and_tokenizer, capsys):
    """Unknown names list the valid ones; focus without --texts is refused before the model (here a
    path that does not exist) is opened; nothing is written."""
    _, tok = model_and_tokenizer
    base = ["transfer", "--model", str(tmp_path / "nope"), "--tokenizer", str(tok)]
    out = ["--out", str(tmp_path / "o")]
    assert main(base + ["--method", "fvtt"] + out) == 2
    err = capsys.readouterr().err
    assert "unknown method 'fvtt'" in err and "hypernet:DIR" in err and "mean_noise" in err
    assert main(base + ["--method", "fvt", "--method-opt", "chunks=2"] + out) == 2
    assert "valid options: copy, chunk" in capsys.readouterr().err
    assert main(base + ["--method", "focus"] + out) == 2
    err = capsys.readouterr().err
    assert "needs target-language texts" in err and "nope" not in err
    assert not (tmp_path / "o").exists()


def test_cli_method_options_reach_the_method(tmp_path, model_and_tokenizer):
    """`--method fvt --method-opt copy=false` equals `--method fvt,copy=false`, and differs from
    the default (the overlap is no longer copied); the provenance records the option."""
    model, tok = model_and_tokenizer
    from zett.checkpoint import read_tensor

    def run(name, *method):
        out = tmp_path / name
        args = ["transfer", "--model", str(model), "--tokenizer", str(tok), "--out", str(out)]
        assert main(args + ["--quiet", *method]) == 0
        return out

    a = run("a", "--method", "fvt", "--method-opt", "copy=false")
    b = run("b", "--method", "fvt,copy=false")
    c = run("c", "--method", "fvt")
    emb = "model.embed_tokens.weight"
    np.testing.assert_array_equal(read_tensor(a, emb), read_tensor(b, emb))
    assert not np.array_equal(read_tensor(a, emb), read_tensor(c, emb))
    prov = json.loads((a / "zett_provenance.json").read_text())
    assert prov["method_options"] == {"copy": False} and prov["n_copied"] == 0
    assert "method_options" not in json.loads((c / "zett_provenance.json").read_text())
