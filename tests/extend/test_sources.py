"""What `zett extend` takes as its source (GGUF files, packaged aliases) and what it carries to the
output (SentencePiece model, provenance, special-token lists)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from zett.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checkpoint"))
from gguf_helpers import write_tiny_llama  # noqa: E402


def _tensor(d: Path, name: str) -> np.ndarray:
    with safe_open(str(d / "model.safetensors"), "np") as h:
        return h.get_tensor(name)


def test_a_gguf_source_is_converted_then_extended(tmp_path, capsys):
    from transformers import AutoTokenizer, LlamaForCausalLM

    src = tmp_path / "tiny.gguf"
    hf = write_tiny_llama(src)
    out = tmp_path / "out"
    assert main(["extend", str(src), str(out), "--tokens", "<X>", "<Y>", "--special"]) == 0
    err = capsys.readouterr().err
    assert f"{src} is a GGUF file: writing it as a float32 Hugging Face directory first" in err
    emb = _tensor(out, "model.embed_tokens.weight")
    assert emb.shape == (10, 8)
    np.testing.assert_array_equal(emb[:8], hf["token_embd.weight"])  # old rows as stored
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 10
    LlamaForCausalLM.from_pretrained(str(out))  # loads: shapes agree with the config
    tok = AutoTokenizer.from_pretrained(str(out))
    assert tok.convert_tokens_to_ids(["<X>", "<Y>"]) == [8, 9]
    assert {"<X>", "<Y>"} <= set(tok.all_special_tokens)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.gguf"]  # no scratch left


def test_a_gguf_source_refused_by_check_and_dst_checked_before_converting(tmp_path, capsys):
    src = tmp_path / "tiny.gguf"
    write_tiny_llama(src)
    assert main(["extend", str(src), "--check"]) == 2
    assert "is a GGUF file: --check takes a Hugging Face directory" in capsys.readouterr().err
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine").write_text("x")
    assert main(["extend", str(src), str(out), "--tokens", "<X>"]) == 2
    err = capsys.readouterr().err
    assert (
        f"{out} exists and is not empty" in err and "GGUF" not in err
    )  # refused before converting
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.gguf"]


@pytest.mark.parametrize("alias", ["minilm", "qwen2"])
def test_packaged_aliases(alias, capsys):
    assert main(["extend", alias, "--tokens", "<X>", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "text" in printed, printed


def test_special_tokens_listed_and_side_files_carried(tmp_path, tiny_llama_dir):
    from transformers import AutoTokenizer

    src = tmp_path / "src"
    shutil.copytree(tiny_llama_dir, src)
    (src / "tokenizer.model").write_bytes(b"\x0a\x05spm!")  # carried byte for byte
    (src / "zett_provenance.json").write_text(json.dumps({"converted_from": "somewhere"}))
    out = tmp_path / "out"
    argv = ["extend", str(src), str(out), "--pattern", "<A_{i}>", "--count", "3", "--special"]
    assert main(argv) == 0
    assert (out / "tokenizer.model").read_bytes() == b"\x0a\x05spm!"
    prov = json.loads((out / "zett_provenance.json").read_text())
    assert prov["converted_from"] == "somewhere"
    n = json.loads((tiny_llama_dir / "config.json").read_text())["vocab_size"]
    assert prov["extensions"] == [
        {
            "tokens": 3,
            "segment": "text",
            "special": True,
            "init": "average",
            "vocab_size": [n, n + 3],
        }
    ]
    tok = AutoTokenizer.from_pretrained(str(out))
    assert {"<A_0>", "<A_1>", "<A_2>"} <= set(tok.all_special_tokens)
    assert tok.decode(tok("x <A_1> y")["input_ids"], skip_special_tokens=True) == "x  y"
