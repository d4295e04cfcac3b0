"""`zett extend`: dry-run layout, a full extension, verify mode and clear errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extend"))
from extend_helpers import make_tiny_llama, train_bpe  # noqa: E402

from zett.cli.main import main  # noqa: E402


@pytest.fixture(scope="module")
def tok():
    return train_bpe()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tok) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("cli") / "m", tok)


def test_dry_run_prints_layout_and_writes_nothing(tmp_path, model_dir, tok, capsys):
    out = tmp_path / "never"
    code = main(
        [
            "extend",
            str(model_dir),
            str(out),
            "--pattern",
            "<AUDIO_{i}>",
            "--count",
            "8192",
            "--special",
            "--segment",
            "audio",
            "--pad-to-multiple",
            "128",
            "--dry-run",
        ]
    )
    assert code == 0 and not out.exists()
    text = capsys.readouterr().out
    n = tok.get_vocab_size()
    total = -(-(n + 8192) // 128) * 128
    assert "new layout:" in text and "audio  " in text
    assert f"ids [{n}, {n + 8192})" in text and f"{total}" in text


def test_extend_then_check(tmp_path, model_dir, tok, capsys):
    out = tmp_path / "ext"
    code = main(
        [
            "extend",
            str(model_dir),
            str(out),
            "--tokens",
            "<V_{0..9}>",
            "--special",
            "--init",
            "special_tokens",
            "--init-tokens",
            "<|endoftext|>",
            "<|im_end|>",
            "--noise",
            "0",
        ]
    )
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    summary = json.loads(printed[printed.index("{\n") :])
    assert (
        summary["verify"]["ok"]
        and summary["tensors"]["lm_head.weight"]["new"][0] == tok.get_vocab_size() + 10
    )
    from safetensors.numpy import load_file

    new = load_file(str(out / "model.safetensors"))["model.embed_tokens.weight"]
    old = load_file(str(model_dir / "model.safetensors"))["model.embed_tokens.weight"]
    n = tok.get_vocab_size()
    a, b = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    np.testing.assert_array_equal(new[:n], old)
    np.testing.assert_allclose(new[n + 3], (old[a].astype(np.float64) + old[b]) / 2, rtol=1e-6)
    assert main(["extend", str(out), "--check", "--tokens", "<V_{0..9}>"]) == 0
    assert "check passed" in capsys.readouterr().err
    # the unextended model does not have them
    assert main(["extend", str(model_dir), "--check", "--tokens", "<V_0>"]) == 1
    assert "not in the tokenizer" in capsys.readouterr().err


def test_tokenizer_only_from_tokenizer_json(tmp_path, tok, capsys):
    tok.save(str(tmp_path / "tokenizer.json"))
    code = main(
        ["extend", str(tmp_path / "tokenizer.json"), str(tmp_path / "out"), "--tokens", "Ġzettify"]
    )
    assert code == 0
    from tokenizers import Tokenizer

    new = Tokenizer.from_file(str(tmp_path / "out" / "tokenizer.json"))
    assert new.token_to_id("Ġzettify") == tok.get_vocab_size()


def test_clear_errors(tmp_path, model_dir, tok, capsys):
    # a token that already exists
    assert main(["extend", str(model_dir), str(tmp_path / "a"), "--tokens", "<|endoftext|>"]) == 2
    assert "already in the vocabulary" in capsys.readouterr().err
    # size mismatch between config/tokenizer and checkpoint
    bad = make_tiny_llama(tmp_path / "bad", tok, vocab=tok.get_vocab_size() + 3)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["vocab_size"] = tok.get_vocab_size() + 7
    (bad / "config.json").write_text(json.dumps(cfg))
    assert main(["extend", str(bad), str(tmp_path / "b"), "--tokens", "<X>", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "size mismatch" in err and str(tok.get_vocab_size() + 7) in err
    assert main(["extend", str(bad), "--check"]) == 1
    assert "size mismatch" in capsys.readouterr().err
    # special_tokens init with an unknown token
    assert (
        main(
            [
                "extend",
                str(model_dir),
                str(tmp_path / "c"),
                "--tokens",
                "<X>",
                "--init",
                "special_tokens",
                "--init-tokens",
                "<nope>",
            ]
        )
        == 2
    )
    assert "<nope>" in capsys.readouterr().err
    # hypernet init without --hypernet DIR says what it needs
    assert (
        main(
            ["extend", str(model_dir), str(tmp_path / "d"), "--tokens", "<X>", "--init", "hypernet"]
        )
        == 2
    )
    assert "--hypernet DIR" in capsys.readouterr().err
    assert main(["extend", str(model_dir), "--tokens", "<X>"]) == 2
    assert "--dry-run" in capsys.readouterr().err
    # reserved padding rows (checkpoint larger than the tokenizer) cannot take tokens
    padded = make_tiny_llama(tmp_path / "padded", tok, vocab=tok.get_vocab_size() + 3)
    assert (
        main(
            ["extend", str(padded), str(tmp_path / "e"), "--tokens", "<X>", "--segment", "padding"]
        )
        == 2
    )
    assert "reserved" in capsys.readouterr().err
    # an id out of range
    assert (
        main(
            [
                "extend",
                str(model_dir),
                str(tmp_path / "f"),
                "--tokens",
                "<X>",
                "--init",
                "special_tokens",
                "--init-tokens",
                "99999",
            ]
        )
        == 2
    )
    assert "99999 is outside the table" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "acdef")


def test_real_bert_minilm_words_with_fvt(tmp_path, capsys):
    """all-MiniLM-L6-v2 (real weights): new words via fvt; original-token outputs bit-identical."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModel, AutoTokenizer

    import zett.assets

    src = zett.assets.minilm_dir()
    out = tmp_path / "minilm"
    assert (
        main(
            [
                "extend",
                str(src),
                str(out),
                "--tokens",
                "tokenizerology",
                "zettification",
                "--init",
                "fvt",
                "--pad-to-multiple",
                "64",
            ]
        )
        == 0
    )
    a, b = AutoModel.from_pretrained(str(src)).eval(), AutoModel.from_pretrained(str(out)).eval()
    ta, tb = AutoTokenizer.from_pretrained(str(src)), AutoTokenizer.from_pretrained(str(out))
    x = ta("In the beginning God created the heaven and the earth.", return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(a(**x).last_hidden_state, b(**x).last_hidden_state)
    n = len(ta)
    assert tb("I like zettification")["input_ids"] == [101, 1045, 2066, n + 1, 102]
    assert b.config.vocab_size == 30528
    emb_a, emb_b = a.embeddings.word_embeddings.weight, b.embeddings.word_embeddings.weight
    pieces = ta(" zettification", add_special_tokens=False)["input_ids"]
    torch.testing.assert_close(emb_b[n + 1], emb_a[pieces].mean(0), rtol=1e-6, atol=1e-7)
