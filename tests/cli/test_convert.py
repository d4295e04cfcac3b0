"""`zett convert`: any loadable source → a Hugging Face directory, with progress and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from zett.cli.main import main
from zett.models import build_model, hf_io, load_pretrained, registry
from zett.models.weights import param_paths


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """A tiny XLM-R saved by zett, with a real tokenizer file beside it."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    model = build_model(registry.tiny_config("xlm-roberta"), seed=3)
    tok_dir = tmp_path_factory.mktemp("tok")
    vocab = {
        "<s>": 0,
        "<pad>": 1,
        "</s>": 2,
        "<unk>": 3,
        **{f"w{i}": i for i in range(4, model.vocab_size)},
    }
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tok_dir / "tokenizer.json"))
    return hf_io.save_pretrained(model, tmp_path_factory.mktemp("src") / "model", tok_dir)


def _params(model) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.get_value(), np.float32) for k, v in param_paths(model).items()}


def test_convert_hf_directory(src, tmp_path, capsys):
    dst = tmp_path / "out"
    assert main(["convert", str(src), str(dst)]) == 0
    err = capsys.readouterr().err
    assert "reading" in err and "loaded xlm-roberta: 2 layers" in err and "done in" in err
    assert sorted(p.name for p in dst.iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "zett_provenance.json",
    ]
    assert (dst / "tokenizer.json").read_bytes() == (src / "tokenizer.json").read_bytes()
    assert json.loads((dst / "zett_provenance.json").read_text())["converted_from"] == str(src)
    a, b = _params(load_pretrained(src)), _params(load_pretrained(dst))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_convert_to_bfloat16(src, tmp_path, capsys):
    dst = tmp_path / "bf16"
    assert main(["convert", str(src), str(dst), "--dtype", "bfloat16"]) == 0
    with safe_open(str(dst / "model.safetensors"), "numpy") as f:
        assert {str(f.get_slice(k).get_dtype()) for k in f.keys()} == {"BF16"}
    a, b = _params(load_pretrained(src)), _params(load_pretrained(dst))
    for k in a:  # bf16 rounding: relative error below 2^-8
        np.testing.assert_allclose(b[k], a[k], rtol=2**-8, atol=1e-30, err_msg=k)


def test_convert_refuses_to_clobber_and_reports_bad_sources(src, tmp_path, capsys):
    dst = tmp_path / "taken"
    dst.mkdir()
    (dst / "notes.txt").write_text("mine")
    assert main(["convert", str(src), str(dst)]) == 2
    assert "not empty" in capsys.readouterr().err and (dst / "notes.txt").exists()
    assert main(["convert", str(src), str(dst), "--overwrite"]) == 0
    assert not (dst / "notes.txt").exists()

    assert main(["convert", str(tmp_path / "missing"), str(tmp_path / "x")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "t5"}))
    assert main(["convert", str(broken), str(tmp_path / "y")]) == 2
    assert "model_type 't5'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


@pytest.mark.slow
@pytest.mark.models
def test_convert_smollm2_gguf_loads_in_transformers(tmp_path, capsys):
    """The real SmolLM2-135M GGUF → HF directory → transformers, same logits as zett on real text."""
    import jax.numpy as jnp
    import torch
    import transformers

    from zett.assets import AssetMissingError, smollm2_gguf

    try:
        gguf = smollm2_gguf()
    except AssetMissingError as e:
        pytest.skip(str(e))
    dst = tmp_path / "smollm2"
    assert main(["convert", str(gguf), str(dst)]) == 0
    assert "loaded llama: 30 layers" in capsys.readouterr().err
    assert (dst / "tokenizer.json").exists()
    tok = transformers.AutoTokenizer.from_pretrained(dst)
    hf = transformers.AutoModelForCausalLM.from_pretrained(dst, attn_implementation="eager").eval()
    enc = tok(
        ["The capital of France is Paris, and the capital of Germany is Berlin."],
        return_tensors="np",
    )
    with torch.no_grad():
        ref = hf(input_ids=torch.tensor(enc["input_ids"])).logits.numpy()
    model = load_pretrained(dst)
    ours = np.asarray(model(jnp.asarray(enc["input_ids"])).logits)
    # 30 fp32 layers, logits up to ~30: 1e-4 plus 1e-5 of the logit. Position 0 is the attention
    # sink, whose residual stream reaches |h| ≈ 7900 (15x the other positions), so fp32 rounding
    # there is 15x larger too (measured 1.3e-4 on logits of ~3)
    np.testing.assert_allclose(ours[:, 1:], ref[:, 1:], atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(ours[:, :1], ref[:, :1], atol=15e-4, rtol=0)

    # and the converted model is a language model, not noise: it predicts the sentence far better
    # than the same tokens shuffled (measured perplexity 5.6)
    def ppl(ids: np.ndarray) -> float:
        with torch.no_grad():
            logits = hf(input_ids=torch.tensor(ids[None])).logits[0].double()
        logp = torch.log_softmax(logits[:-1], -1).numpy()
        return float(np.exp(-logp[np.arange(len(ids) - 1), ids[1:]].mean()))

    ids = enc["input_ids"][0]
    shuffled = np.concatenate([ids[:1], np.random.default_rng(0).permutation(ids[1:])])
    assert ppl(shuffled) > 10 * ppl(ids), (ppl(shuffled), ppl(ids))


@pytest.mark.models
def test_convert_real_minilm_keeps_every_tensor_and_tokenizer(tmp_path, capsys):
    """all-MiniLM-L6-v2 is a bare BertModel (pooler, no MLM head): converted, it is the same model."""
    transformers = pytest.importorskip("transformers")
    from zett.assets import AssetMissingError, minilm_dir

    try:
        src = minilm_dir()
    except AssetMissingError as e:
        pytest.skip(str(e))
    dst = tmp_path / "minilm"
    assert main(["convert", str(src), str(dst)]) == 0
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        assert (dst / name).read_bytes() == (src / name).read_bytes()
    assert json.loads((dst / "config.json").read_text())["architectures"] == ["BertModel"]
    theirs = transformers.AutoModel.from_pretrained(src).state_dict()
    ours = transformers.AutoModel.from_pretrained(dst).state_dict()
    assert ours.keys() == theirs.keys()
    for k in theirs:
        np.testing.assert_array_equal(ours[k].numpy(), theirs[k].numpy(), err_msg=k)
