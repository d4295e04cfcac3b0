"""Slow: the real SmolLM2-135M GGUF onto Gemma-3's 262k SentencePiece tokenizer with FVT, loaded and
run by transformers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zett import assets

pytestmark = pytest.mark.slow


def test_smollm2_gguf_to_gemma3_tokenizer(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from zett.checkpoint import read_gguf, read_tensor
    from zett.transfer import TransferConfig, transfer

    out = transfer(
        TransferConfig(
            model=str(assets.smollm2_gguf()),
            tokenizer=str(assets.gemma3_gguf()),
            out=str(tmp_path / "smol-gemma"),
            method="fvt",
            progress=False,
        )
    )
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vocab_size"] == 262144 and cfg["bos_token_id"] == 2 and cfg["eos_token_id"] == 1
    prov = json.loads((out / "zett_provenance.json").read_text())
    assert prov["n_copied"] > 10_000  # English words shared by both vocabularies

    # streamed GGUF conversion equals the in-memory reader, tensor for tensor
    name = "model.layers.3.self_attn.k_proj.weight"
    ref = read_gguf(assets.smollm2_gguf(), tensors=lambda n: n == name).tensors[name]
    np.testing.assert_array_equal(read_tensor(out, name), ref)

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.get_input_embeddings().weight.shape == (262144, 576)
    ids = tok("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        gen = model.generate(**ids, max_new_tokens=8, do_sample=False)
    assert gen.shape[1] > ids["input_ids"].shape[1]
    text = tok.decode(gen[0], skip_special_tokens=True)
    assert text.startswith("The capital of France is")
