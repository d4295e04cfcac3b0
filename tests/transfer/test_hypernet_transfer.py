"""Transfer with a (tiny, untrained) hypernetwork: rows equal `predict_embeddings`, wrong base model
refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from flax import nnx

from zett.checkpoint import read_tensor
from zett.hypernet.checkpoint import load_hypernet, save_hypernet
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Hypernet
from zett.hypernet.predict import predict_embeddings
from zett.tokenization import Decomposer, canonicalize, load_tokenizer
from zett.transfer import TransferConfig, transfer

CFG = HypernetConfig(
    hidden_size=64, intermediate_size=128, num_layers=1, predict_output_embeddings=True
)


def test_hypernet_transfer_and_fingerprint(tmp_path, llama_untied, llama_tied, unigram_dir):
    e_in = read_tensor(llama_untied, "model.embed_tokens.weight")
    e_out = read_tensor(llama_untied, "lm_head.weight")
    hn_dir = save_hypernet(
        tmp_path / "hn", Hypernet(CFG, e_in, e_out, rngs=nnx.Rngs(0)), str(llama_untied), "smollm2"
    )
    out = transfer(
        TransferConfig(
            model=str(llama_untied),
            tokenizer=str(unigram_dir),
            out=str(tmp_path / "o"),
            hypernet=str(hn_dir),
            method_options=(("copy_overlap", "false"),),  # every row the prediction
            progress=False,
        )
    )

    hn = load_hypernet(hn_dir, e_in, e_out)
    target = canonicalize(load_tokenizer(unigram_dir))
    want = predict_embeddings(
        hn,
        # the source tokenizer's own model splits target tokens, as in training
        Decomposer(load_tokenizer(llama_untied), maxlen=CFG.surface_maxlen),
        target,
        progress=False,
    )
    np.testing.assert_array_equal(
        read_tensor(out, "model.embed_tokens.weight"), want.input_embeddings
    )
    np.testing.assert_array_equal(read_tensor(out, "lm_head.weight"), want.output_embeddings)
    prov = json.loads((out / "zett_provenance.json").read_text())
    assert prov["method"] == "hypernet" and prov["hypernet"] == str(hn_dir)
    assert prov["n_copied"] == 4  # the specials <unk> <s> </s> <pad>, by role

    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(out).config.vocab_size == 2000

    # a hypernet trained for another base model: same shapes, other embeddings
    other = tmp_path / "other"
    other.mkdir()
    for f in llama_untied.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    from safetensors.numpy import save_file

    from zett.checkpoint import iter_tensors

    tensors = dict(iter_tensors(llama_untied))
    tensors["model.embed_tokens.weight"] = tensors["model.embed_tokens.weight"] * 2
    save_file(tensors, str(other / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ValueError, match="source embeddings differ"):
        transfer(
            TransferConfig(
                model=str(other),
                tokenizer=str(unigram_dir),
                out=str(tmp_path / "o2"),
                hypernet=str(hn_dir),
                progress=False,
            )
        )
    with pytest.raises(ValueError, match="tied"):
        transfer(
            TransferConfig(
                model=str(llama_tied),
                tokenizer=str(unigram_dir),
                out=str(tmp_path / "o3"),
                hypernet=str(hn_dir),
                progress=False,
            )
        )


def test_hypernet_method_spec_and_copy_overlap(tmp_path, llama_untied, unigram_dir):
    """`method="hypernet:DIR"` is the same code path as `hypernet=DIR`; with copy_overlap the rows
    of shared tokens are the source rows in both tables (input and untied head)."""
    from zett.tokenization import overlap

    e_in = read_tensor(llama_untied, "model.embed_tokens.weight")
    e_out = read_tensor(llama_untied, "lm_head.weight")
    hn_dir = save_hypernet(
        tmp_path / "hn", Hypernet(CFG, e_in, e_out, rngs=nnx.Rngs(0)), str(llama_untied), "smollm2"
    )
    common = dict(model=str(llama_untied), tokenizer=str(unigram_dir), progress=False)
    no_copy = (("copy_overlap", "false"),)
    a = transfer(
        TransferConfig(
            out=str(tmp_path / "a"), hypernet=str(hn_dir), method_options=no_copy, **common
        )
    )
    b = transfer(
        TransferConfig(
            out=str(tmp_path / "b"), method=f"hypernet:{hn_dir},copy_overlap=false", **common
        )
    )
    c = transfer(TransferConfig(out=str(tmp_path / "c"), hypernet=str(hn_dir), **common))  # default
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        np.testing.assert_array_equal(read_tensor(a, name), read_tensor(b, name))
    ov = overlap(
        canonicalize(load_tokenizer(unigram_dir)), canonicalize(load_tokenizer(llama_untied))
    )
    assert ov.target_ids.size > 100
    for name, table in (("model.embed_tokens.weight", e_in), ("lm_head.weight", e_out)):
        got = read_tensor(c, name)
        np.testing.assert_array_equal(got[ov.target_ids], table[ov.source_ids])
        assert not np.array_equal(read_tensor(a, name)[ov.target_ids], table[ov.source_ids])
    prov = json.loads((c / "zett_provenance.json").read_text())
    assert "method_options" not in prov  # copy_overlap=true is the default
    assert prov["n_copied"] == 4 + ov.target_ids.size  # the specials and the overlap
    # the report measures the predictions of the shared tokens before they were copied: a's rows
    for name, table, key in (
        ("model.embed_tokens.weight", e_in, "input"),
        ("lm_head.weight", e_out, "output"),
    ):
        pred = read_tensor(a, name)[ov.target_ids].astype(np.float64)
        true = table[ov.source_ids].astype(np.float64)
        cos = (pred * true).sum(1) / np.linalg.norm(pred, axis=1) / np.linalg.norm(true, axis=1)
        rec = prov["identity_reconstruction"][key]
        assert rec["n"] == ov.target_ids.size
        np.testing.assert_allclose(rec["cosine_mean"], cos.mean(), rtol=1e-6)
