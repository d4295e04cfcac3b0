"""Damaged or mismatched checkpoints fail loudly, naming the file and the tensor; nothing loads
halfway."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from zett import checkpoint as ckpt_io
from zett.models import (
    CheckpointError,
    UnsupportedModelError,
    build_model,
    config_from_hf,
    hf_io,
    load_pretrained,
    registry,
)
from zett.models.weights import param_paths

WORD = "bert.embeddings.word_embeddings.weight"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A valid tiny BERT checkpoint; tests copy and damage it."""
    model = build_model(registry.tiny_config("bert"))
    return hf_io.save_pretrained(model, tmp_path_factory.mktemp("good") / "bert")


def _copy(good: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in good.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _tensors(path: Path) -> dict[str, np.ndarray]:
    return dict(ckpt_io.iter_tensors(path))


def _rewrite(path: Path, tensors: dict[str, np.ndarray]) -> None:
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda b: b[: len(b) - 100],
            "incomplete metadata|not fully covered",
        ),  # truncated download
        (lambda b: b[:8] + b"X" + b[9:], "header|JSON"),  # corrupt JSON header
        (lambda b: os.urandom(4096), "header"),  # garbage
        (lambda b: b"", "header"),  # empty file
    ],
    ids=["truncated", "corrupt-header", "garbage", "empty"],
)
def test_damaged_safetensors(good, tmp_path, damage, message):
    ckpt = _copy(good, tmp_path / "ckpt")
    file = ckpt / "model.safetensors"
    file.write_bytes(damage(file.read_bytes()))
    with pytest.raises(CheckpointError, match=message) as err:
        load_pretrained(ckpt)
    assert str(file) in str(err.value)


def test_unsupported_architecture(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    (ckpt / "config.json").write_text(
        json.dumps({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]})
    )
    with pytest.raises(UnsupportedModelError, match=r"'gpt2'.*supports.*bert.*llama") as err:
        load_pretrained(ckpt)
    assert "GPT2LMHeadModel" in str(err.value)
    with pytest.raises(UnsupportedModelError, match="model_type None"):
        config_from_hf({"hidden_size": 4})


def test_unsupported_option(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    hf = json.loads((ckpt / "config.json").read_text())
    (ckpt / "config.json").write_text(
        json.dumps({**hf, "position_embedding_type": "relative_key_query"})
    )
    with pytest.raises(UnsupportedModelError, match="position_embedding_type"):
        load_pretrained(ckpt)


def test_shape_disagrees_with_config(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    t = _tensors(ckpt)
    t[WORD] = t[WORD][:-3]
    _rewrite(ckpt, t)
    with pytest.raises(
        CheckpointError,
        match=rf"model\.safetensors: tensor '{WORD}' has shape \(125, 32\).*\(128, 32\)",
    ):
        load_pretrained(ckpt)


def test_shape_that_cannot_be_split_into_heads(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    t = _tensors(ckpt)
    name = "bert.encoder.layer.1.attention.self.query.weight"
    t[name] = t[name][:-1]
    _rewrite(ckpt, t)
    with pytest.raises(CheckpointError, match=rf"tensor '{name}' has shape \(31, 32\)"):
        load_pretrained(ckpt)


def test_missing_tensor(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    t = _tensors(ckpt)
    del t["bert.encoder.layer.1.output.LayerNorm.bias"]
    _rewrite(ckpt, t)
    with pytest.raises(
        CheckpointError,
        match=r"model\.safetensors: missing tensor.*layer\.1\.output\.LayerNorm\.bias",
    ):
        load_pretrained(ckpt)


def test_unexpected_tensor(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    t = _tensors(ckpt)
    t["bert.encoder.layer.7.attention.self.query.weight"] = np.zeros((32, 32), np.float32)
    _rewrite(ckpt, t)
    with pytest.raises(
        CheckpointError, match=r"model\.safetensors: tensor 'bert\.encoder\.layer\.7\..*' maps to"
    ):
        load_pretrained(ckpt)
    t = _tensors(good)
    t["classifier.weight"] = np.zeros((2, 32), np.float32)
    _rewrite(ckpt, t)
    with pytest.raises(CheckpointError, match=r"unexpected tensor 'classifier\.weight'"):
        load_pretrained(ckpt)


def test_sharded_index_problems(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    names = list(_tensors(ckpt))
    (ckpt / "model.safetensors").rename(ckpt / "model-00001-of-00002.safetensors")
    index = {"metadata": {}, "weight_map": {n: "model-00001-of-00002.safetensors" for n in names}}
    index["weight_map"]["cls.predictions.bias"] = "model-00002-of-00002.safetensors"
    (ckpt / ckpt_io.INDEX_FILE).write_text(json.dumps(index))
    with pytest.raises(
        CheckpointError,
        match=r"index\.json: shard model-00002-of-00002\.safetensors .* does not exist",
    ):
        load_pretrained(ckpt)
    index["weight_map"]["cls.predictions.bias"] = "model-00001-of-00002.safetensors"
    index["weight_map"]["ghost.weight"] = "model-00001-of-00002.safetensors"
    (ckpt / ckpt_io.INDEX_FILE).write_text(json.dumps(index))
    with pytest.raises(
        CheckpointError, match=r"'ghost\.weight' is listed in model-00001-of-00002\.safetensors"
    ):
        load_pretrained(ckpt)
    (ckpt / ckpt_io.INDEX_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match=r"index\.json: not a valid safetensors index"):
        load_pretrained(ckpt)


def test_config_problems(good, tmp_path):
    ckpt = _copy(good, tmp_path / "ckpt")
    (ckpt / "config.json").write_text("{oops")
    with pytest.raises(CheckpointError, match=r"config\.json: invalid JSON"):
        load_pretrained(ckpt)
    (ckpt / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_pretrained(ckpt)
    weights_only = _copy(good, tmp_path / "weights_only")
    (weights_only / "model.safetensors").unlink()
    with pytest.raises(
        CheckpointError, match="no model.safetensors or model.safetensors.index.json"
    ):
        load_pretrained(weights_only)


def test_not_a_model_file(tmp_path):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"\0" * 16)
    with pytest.raises(CheckpointError, match="expected a model directory"):
        load_pretrained(f)


def test_legacy_layernorm_names_load_as_transformers_does(good, tmp_path):
    """TF-converted BERTs name LayerNorm parameters gamma/beta; transformers renames them on load."""
    ckpt = _copy(good, tmp_path / "ckpt")
    t = _tensors(ckpt)
    legacy = {
        k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
            "LayerNorm.bias", "LayerNorm.beta"
        ): v
        for k, v in t.items()
    }
    assert sum(k.endswith(".gamma") for k in legacy) == 6  # embeddings, 2 × 2 per layer, MLM head
    _rewrite(ckpt, legacy)
    pa, pb = param_paths(load_pretrained(good)), param_paths(load_pretrained(ckpt))
    for k in pa:
        np.testing.assert_array_equal(
            np.asarray(pa[k].get_value()), np.asarray(pb[k].get_value()), err_msg=k
        )
    both = "bert.embeddings.LayerNorm.weight"
    legacy[both] = t[both]
    _rewrite(ckpt, legacy)
    with pytest.raises(CheckpointError, match="holds both"):
        load_pretrained(ckpt)


def test_garbage_gguf_names_the_file(tmp_path):
    f = tmp_path / "model.gguf"
    f.write_bytes(os.urandom(2048))
    with pytest.raises(CheckpointError, match="model.gguf") as err:
        load_pretrained(f)
    assert str(f) in str(err.value)
