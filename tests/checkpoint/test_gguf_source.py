"""A GGUF source: one parse of the file serves config, tokenizer and every tensor of a transfer."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
from gguf_helpers import write_tiny_llama

from zett.checkpoint import GGUFFile, gguf_sources, read_gguf, read_tensor
from zett.transfer import TransferConfig, transfer


@pytest.fixture
def tiny_gguf(tmp_path):
    tensors = write_tiny_llama(tmp_path / "tiny.gguf")
    tok_dir = tmp_path / "tok"
    read_gguf(tmp_path / "tiny.gguf", tensors=False).save_tokenizer(tok_dir)
    return tmp_path / "tiny.gguf", tok_dir, tensors


def test_transfer_parses_the_gguf_once(tmp_path, tiny_gguf, monkeypatch):
    path, tok_dir, stored = tiny_gguf
    monkeypatch.setenv("ZETT_CACHE", str(tmp_path / "cache"))  # no tokenizer cached from before
    opened: list[str] = []
    real_init = GGUFFile.__init__

    def counting_init(self, p):
        opened.append(str(p))
        real_init(self, p)

    def no_second_reader(*args, **kwargs):
        raise AssertionError("the GGUF was parsed again with gguf.GGUFReader")

    monkeypatch.setattr(GGUFFile, "__init__", counting_init)
    monkeypatch.setattr(gguf, "GGUFReader", no_second_reader)
    out = transfer(
        TransferConfig(
            model=str(path), tokenizer=str(tok_dir), out=str(tmp_path / "o"), method="fvt",
            progress=False,
        )
    )  # fmt: skip
    assert opened == [str(path)]
    # same tokenizer as target: fvt copies every row, so the table is the GGUF's own
    np.testing.assert_array_equal(
        read_tensor(out, "model.embed_tokens.weight"), stored["token_embd.weight"]
    )
    # q is stored permuted in the GGUF; the transfer writes HF's order, as read_gguf does
    np.testing.assert_array_equal(
        read_tensor(out, "model.layers.0.self_attn.q_proj.weight"), stored["blk.0.attn_q.weight"]
    )


def test_gguf_sources_match_read_gguf(tiny_gguf):
    path, _, _ = tiny_gguf
    g = read_gguf(path, tensors=False)
    eager = read_gguf(path).tensors
    sources = gguf_sources(g, np.dtype(np.float16))
    assert [s.name for s in sources] == list(eager)
    for s in sources:
        assert s.dtype == "F16" and s.shape == eager[s.name].shape
        np.testing.assert_array_equal(s.load(), eager[s.name].astype(np.float16))
    assert g.loaded_tokenizer().roles == {"bos": 6, "eos": 7}
