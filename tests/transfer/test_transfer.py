"""`zett.transfer` on tiny random Llamas (tied and untied): exact rows, bit-identical copies,
HF-loadable output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from zett.checkpoint import iter_tensors, read_tensor
from zett.heuristics import SourceEmbeddings, fvt_init
from zett.tokenization import canonicalize, load_tokenizer
from zett.transfer import TransferConfig, transfer

EMB, HEAD = "model.embed_tokens.weight", "lm_head.weight"


def _raw(directory: Path) -> dict[str, bytes]:
    out = {}
    for f in sorted(directory.glob("*.safetensors")):
        with safe_open(str(f), framework="numpy") as s:
            for k in s.keys():
                out[k] = s.get_tensor(k).tobytes()
    return out


@pytest.mark.parametrize("tied", [True, False])
def test_fvt_transfer_matches_in_memory_and_copies_bit_identical(
    tmp_path, request, unigram_dir, verses, tied
):
    src = request.getfixturevalue("llama_tied" if tied else "llama_untied")
    out = transfer(
        TransferConfig(
            model=str(src),
            tokenizer=str(unigram_dir),
            out=str(tmp_path / "out"),
            method="fvt",
            progress=False,
        )
    )

    # embedding rows equal what fvt gives in memory
    source = SourceEmbeddings(
        canonicalize(load_tokenizer(src)),
        read_tensor(src, EMB),
        None if tied else read_tensor(src, HEAD),
    )
    target = canonicalize(load_tokenizer(unigram_dir))
    want = fvt_init(source, target)
    np.testing.assert_array_equal(read_tensor(out, EMB), want.input_embeddings)
    if tied:
        assert HEAD not in dict(iter_tensors(out))
    else:
        np.testing.assert_array_equal(read_tensor(out, HEAD), want.output_embeddings)
        assert not np.array_equal(want.input_embeddings, want.output_embeddings)

    # every other tensor bit-identical
    a, b = _raw(src), _raw(out)
    assert set(a) == set(b)
    for name in a:
        if name not in (EMB, HEAD):
            assert a[name] == b[name], name

    # tokenizer shipped as given, config and provenance
    assert (out / "tokenizer.json").read_bytes() == (unigram_dir / "tokenizer.json").read_bytes()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vocab_size"] == target.size == 2000
    assert (cfg["bos_token_id"], cfg["eos_token_id"], cfg["pad_token_id"]) == (1, 2, 3)
    prov = json.loads((out / "zett_provenance.json").read_text())
    assert (
        prov["method"] == "fvt"
        and prov["base_model"] == str(src)
        and prov["target_tokenizer"] == str(unigram_dir)
    )
    assert (
        prov["n_copied"] == want.info["n_copied"] > 100
        and prov["n_copied"] + prov["n_initialised"] == 2000
    )
    assert prov["zett_version"] and prov["date"]

    # loads in transformers with no custom code, and the tokenizer encodes like the given one
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    np.testing.assert_array_equal(
        model.get_input_embeddings().weight.detach().numpy(), want.input_embeddings
    )
    hf_tok = AutoTokenizer.from_pretrained(out)
    text = verses[7]
    ids = hf_tok(text, add_special_tokens=False)["input_ids"]
    assert ids == load_tokenizer(unigram_dir).tokenizer.encode(text, add_special_tokens=False).ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), 2000) and torch.isfinite(logits).all()


def test_sharded_output_and_dtype(tmp_path, llama_untied, unigram_dir):
    out = transfer(
        TransferConfig(
            model=str(llama_untied),
            tokenizer=str(unigram_dir / "tokenizer.json"),
            out=str(tmp_path / "o"),
            method="mean",
            dtype="bfloat16",
            max_shard_bytes=100_000,
            progress=False,
        )
    )
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) >= 3
    src = dict(iter_tensors(llama_untied))
    got = dict(iter_tensors(out))
    assert set(got) == set(src)
    w = "model.layers.0.mlp.up_proj.weight"
    assert got[w].dtype.name == "bfloat16"
    np.testing.assert_array_equal(
        got[w].astype(np.float32), src[w].astype(got[w].dtype).astype(np.float32)
    )
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 2000
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(out)


def test_refuses_to_overwrite_and_clear_errors(tmp_path, llama_tied, unigram_dir):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep").write_text("x")
    cfg = dict(
        model=str(llama_tied),
        tokenizer=str(unigram_dir),
        out=str(out),
        method="fvt",
        progress=False,
    )
    with pytest.raises(FileExistsError, match="--overwrite"):
        transfer(TransferConfig(**cfg))
    assert (out / "keep").exists()
    transfer(TransferConfig(**{**cfg, "overwrite": True}))
    assert not (out / "keep").exists() and (out / "model.safetensors").exists()

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="target tokenizer .*bad.json"):
        transfer(TransferConfig(**{**cfg, "tokenizer": str(bad), "out": str(tmp_path / "x")}))

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((llama_tied / "config.json").read_text())
    (broken / "model.safetensors").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match="broken"):
        transfer(TransferConfig(**{**cfg, "model": str(broken), "out": str(tmp_path / "y")}))
    with pytest.raises(ValueError, match="exactly one"):
        TransferConfig(model="m", tokenizer="t", out="o")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp dirs left behind


def test_bert_encoder_transfer(tmp_path, unigram_dir):
    """The real all-MiniLM-L6-v2 (WordPiece, BertModel) onto the Unigram tokenizer; token_type and
    position embeddings are not vocabulary tables and pass through unchanged."""
    from transformers import AutoModel

    from zett import assets

    src = assets.minilm_dir()
    out = transfer(
        TransferConfig(
            model=str(src),
            tokenizer=str(unigram_dir),
            out=str(tmp_path / "o"),
            method="fvt",
            progress=False,
        )
    )
    a, b = _raw(src), _raw(out)
    changed = sorted(k for k in a if a[k] != b.get(k))
    assert changed == ["embeddings.word_embeddings.weight"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vocab_size"] == 2000 and cfg["pad_token_id"] == 3
    model = AutoModel.from_pretrained(out)
    assert model.get_input_embeddings().weight.shape == (2000, 384)


@pytest.mark.parametrize(
    "source,src_dtype,out_dtype",
    [("llama_bf16", "bfloat16", "float32"), ("llama_untied", "float32", "bfloat16")],
)
def test_dtype_casts_every_floating_tensor(
    tmp_path, request, unigram_dir, source, src_dtype, out_dtype
):
    """--dtype converts bf16 sources too (ml_dtypes' bfloat16 is not numpy kind "f")."""
    src = request.getfixturevalue(source)
    out = transfer(
        TransferConfig(
            model=str(src),
            tokenizer=str(unigram_dir),
            out=str(tmp_path / "o"),
            method="mean",
            dtype=out_dtype,
            progress=False,
        )
    )
    before, after = dict(iter_tensors(src)), dict(iter_tensors(out))
    assert {before[k].dtype.name for k in before} == {src_dtype}
    assert {after[k].dtype.name for k in after} == {out_dtype}
    w = "model.layers.1.self_attn.q_proj.weight"
    want = before[w].astype(np.float32).astype(after[w].dtype)  # numpy/ml_dtypes, round to nearest
    np.testing.assert_array_equal(after[w].view(np.uint8), want.view(np.uint8))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg.get("torch_dtype", cfg.get("dtype")) == out_dtype
