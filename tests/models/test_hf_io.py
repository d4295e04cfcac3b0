"""Hugging Face checkpoint I/O: round trips, sharding, streaming reads, atomic writes, and the export
proof that what zett saves loads in transformers with the same logits."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from safetensors import safe_open

from zett import checkpoint as ckpt_io
from zett.models import (
    CheckpointError,
    build_model,
    load_pretrained,
    registry,
    save_pretrained,
)
from zett.models.config import FAMILIES
from zett.models.weights import param_paths

ATOL = 1e-4


def _perturb(model, seed: int = 0) -> None:
    """zett init leaves biases at 0 and norms at 1, which would hide export layout bugs."""
    rng = np.random.default_rng(seed)
    for var in param_paths(model).values():
        value = np.asarray(var.get_value(), np.float32)
        var.set_value(jnp.asarray(value + 0.05 * rng.standard_normal(value.shape), value.dtype))


def _tiny(family: str = "bert", seed: int = 0, **overrides):
    model = build_model(registry.tiny_config(family, **overrides), seed=seed)
    _perturb(model, seed)
    return model


def _params(model) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.get_value()) for k, v in param_paths(model).items()}


def _write_tokenizer(directory: Path, vocab_size: int) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1, **{f"w{i}": i for i in range(2, vocab_size)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"pad_token": "[PAD]", "unk_token": "[UNK]"})
    )
    return directory


def test_save_load_round_trip_is_bitwise(tmp_path):
    model = _tiny("bert")
    tok = _write_tokenizer(tmp_path / "tok", model.vocab_size)
    out = save_pretrained(
        model, tmp_path / "out", tok, provenance={"base": "tiny", "method": "test"}
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "zett_provenance.json",
    ]
    assert json.loads((out / "zett_provenance.json").read_text()) == {
        "base": "tiny",
        "method": "test",
    }
    with safe_open(str(out / "model.safetensors"), "numpy") as f:
        assert f.metadata()["format"] == "pt"
        assert json.loads(f.metadata()["zett_provenance"])["base"] == "tiny"
    loaded = load_pretrained(out)
    assert loaded.config == model.config
    a, b = _params(model), _params(loaded)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert [
        p for p in tmp_path.iterdir() if p.name.startswith(".")
    ] == []  # no temp dirs left behind


def test_sharded_save_loads_in_zett_and_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    model = _tiny("roberta")
    out = save_pretrained(model, tmp_path / "out", max_shard_bytes=40_000)
    index = json.loads((out / ckpt_io.INDEX_FILE).read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2 and not (out / ckpt_io.SINGLE_FILE).exists()
    assert index["metadata"]["total_size"] == sum(a.nbytes for a in _params(model).values())
    loaded = load_pretrained(out)
    for k, v in _params(model).items():
        np.testing.assert_array_equal(v, _params(loaded)[k])
    # streaming helpers see the same tensors without loading a model
    streamed = dict(ckpt_io.iter_tensors(out))
    assert streamed.keys() == set(index["weight_map"]) == ckpt_io.tensor_shapes(out).keys()
    name = "roberta.embeddings.word_embeddings.weight"
    np.testing.assert_array_equal(
        ckpt_io.read_tensor(out, name), np.asarray(model.get_input_embeddings())
    )
    assert ckpt_io.tensor_shapes(out)[name] == (model.vocab_size, model.config.hidden_size)
    with pytest.raises(CheckpointError, match="no tensor named 'nope'"):
        ckpt_io.read_tensor(out, "nope")
    hf = transformers.AutoModelForMaskedLM.from_pretrained(out)
    theirs = {k: v.detach().numpy() for k, v in hf.state_dict().items()}
    for k, v in streamed.items():
        np.testing.assert_array_equal(theirs[k], v, err_msg=k)


def test_iter_tensors_is_lazy(tmp_path):
    out = save_pretrained(_tiny("bert"), tmp_path / "out")
    it = ckpt_io.iter_tensors(out)
    name, first = next(it)
    assert isinstance(first, np.ndarray) and name in ckpt_io.tensor_shapes(out)


def test_bfloat16_checkpoint_loads_in_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    src = save_pretrained(_tiny("bert"), tmp_path / "f32")
    model16 = load_pretrained(src, dtype="bfloat16")
    out = save_pretrained(model16, tmp_path / "bf16")
    with safe_open(str(out / "model.safetensors"), "numpy") as f:
        assert str(f.get_slice("bert.embeddings.word_embeddings.weight").get_dtype()) == "BF16"
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    hf = transformers.AutoModelForMaskedLM.from_pretrained(out)
    assert hf.bert.embeddings.word_embeddings.weight.dtype == torch.bfloat16
    np.testing.assert_array_equal(
        hf.bert.embeddings.word_embeddings.weight.float().detach().numpy(),
        np.asarray(model16.get_input_embeddings(), np.float32),
    )


# --- atomic, refusing writes ---------------------------------------------------------------------
def test_refuses_non_empty_destination_unless_overwrite(tmp_path):
    model = _tiny("bert")
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="overwrite"):
        save_pretrained(model, dst)
    assert (dst / "precious.txt").read_text() == "keep me"
    save_pretrained(model, dst, overwrite=True)
    assert not (dst / "precious.txt").exists() and (dst / "model.safetensors").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    save_pretrained(model, empty)  # an existing empty directory is fine
    assert (empty / "config.json").exists()


def test_failed_save_leaves_nothing_behind(tmp_path):
    model = _tiny("bert")

    def broken_tokenizer(directory: Path) -> None:
        raise RuntimeError("tokenizer writer failed")

    with pytest.raises(RuntimeError, match="tokenizer writer failed"):
        save_pretrained(model, tmp_path / "dst", broken_tokenizer)
    assert list(tmp_path.iterdir()) == []  # neither the destination nor a temp dir
    save_pretrained(model, tmp_path / "old")
    with pytest.raises(RuntimeError):
        save_pretrained(_tiny("bert", seed=1), tmp_path / "old", broken_tokenizer, overwrite=True)
    np.testing.assert_array_equal(  # the previous checkpoint survived the failed overwrite
        ckpt_io.read_tensor(tmp_path / "old", "bert.embeddings.word_embeddings.weight"),
        np.asarray(model.get_input_embeddings()),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


# --- sources ----------------------------------------------------------------------------------
def test_hub_id_offline_gives_clear_message(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        CheckpointError, match=r"hub cannot be reached.*pass a local model directory"
    ):
        load_pretrained("zett-test-org/definitely-not-cached-model")


def test_hub_id_goes_through_snapshot_download(monkeypatch, tmp_path):
    import huggingface_hub

    src = save_pretrained(_tiny("bert"), tmp_path / "snapshot")
    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append(repo_id)
        return str(src)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    model = load_pretrained("some-org/tiny-bert")
    assert calls == ["some-org/tiny-bert"] and model.config.family == "bert"


def test_missing_local_path_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or directory"):
        load_pretrained(str(tmp_path / "nope" / "model.gguf"))
    with pytest.raises(FileNotFoundError):
        load_pretrained("./relative/dir/that/does/not/exist")


# --- export proof: a zett checkpoint loads in transformers with the same logits -----------------
# one family per module runs by default; the others of the same module are marked slow
_DEFAULT = {"bert", "xlm-roberta", "llama", "gemma3_text"}


def _family_params():
    out = []
    for family in FAMILIES:
        marks = [] if family in _DEFAULT else [pytest.mark.slow]
        out.append(pytest.param(family, marks=marks, id=family))
    return out


@partial(jax.jit, static_argnums=0)
def _logits(graphdef, state, ids, mask):
    return nnx.merge(graphdef, state)(ids, attention_mask=mask).logits


@pytest.mark.parametrize("family", _family_params())
def test_export_loads_in_transformers_with_same_logits(family, tmp_path):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    model = _tiny(family)
    out = save_pretrained(model, tmp_path / family)
    auto = (
        transformers.AutoModelForMaskedLM
        if model.config.is_encoder
        else transformers.AutoModelForCausalLM
    )
    hf = auto.from_pretrained(out, attn_implementation="eager").eval()
    assert type(hf).__name__ == json.loads((out / "config.json").read_text())["architectures"][0]
    rng = np.random.default_rng(0)
    ids = rng.integers(3, model.vocab_size, (2, 10))
    mask = np.ones((2, 10), np.int64)
    mask[1, 7:] = 0  # right padding: the same convention for encoders and decoders
    ids = np.where(mask == 1, ids, model.config.pad_token_id or 0)
    with torch.no_grad():
        ref = (
            hf(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask))
            .logits.float()
            .numpy()
        )
    ours = np.asarray(_logits(*nnx.split(model), jnp.asarray(ids), jnp.asarray(mask)))
    real = mask.astype(bool)
    np.testing.assert_allclose(ours[real], ref[real], atol=ATOL, rtol=0)


# --- registry --------------------------------------------------------------------------------
def test_registry_dispatches_by_family_and_model_type():
    from zett.models.config import UnsupportedModelError

    config = registry.config_from_hf(registry.hf_config_from(registry.tiny_config("bert")))
    assert registry.model_class(config).__name__ == "EncoderModel"
    assert any(r.target == "embeddings.word" for r in registry.rules_for(config))
    assert set(registry.FAMILY_MODULES) == set(registry.HF_MODEL_TYPES.values()) == set(FAMILIES)
    with pytest.raises(UnsupportedModelError, match="model_type 'gpt2'"):
        registry.config_from_hf({"model_type": "gpt2"})
    with pytest.raises(UnsupportedModelError, match="unknown model family 'gpt2'"):
        registry.tiny_config("gpt2")
