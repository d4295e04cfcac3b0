"""Encoders fine-tune with the masked-LM objective (15% of the tokens) and export a checkpoint that
transformers loads as a BertForMaskedLM with the same logits."""

import numpy as np
import pytest
from ft_helpers import config, metrics

from zett.assets import minilm_dir
from zett.finetune import finetune
from zett.models import ModelConfig, build_model, load_pretrained, save_pretrained


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    cfg = ModelConfig(
        family="bert", vocab_size=30522, hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, hidden_act="gelu",
        max_position_embeddings=128, pad_token_id=0, mask_token_id=103,
    )  # fmt: skip
    return save_pretrained(
        build_model(cfg, seed=0), tmp_path_factory.mktemp("bert") / "m", minilm_dir()
    )


def test_mlm_finetune_and_export(tmp_path, tiny_bert, corpus):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cfg = config(tiny_bert, corpus, tmp_path, embeddings={"steps": 2}, full={"steps": 2},
                 data={"block_size": 32, "validation_texts": 4})  # fmt: skip
    result = finetune(cfg, progress=False)
    rows = metrics(tmp_path)
    train = [m for m in rows if "loss" in m]
    assert all(m["n_targets"] > 0 for m in train)  # the masked positions carry the loss
    assert [m["step"] for m in rows if "val/mlm_loss" in m] == [0, 2, 4]
    assert np.isfinite([m["loss"] for m in train]).all()
    hf = transformers.AutoModelForMaskedLM.from_pretrained(result.out, dtype=torch.float32).eval()
    assert type(hf).__name__ == "BertForMaskedLM"
    ids = np.random.default_rng(0).integers(1000, 30000, (2, 10))
    with torch.no_grad():
        expected = hf(torch.as_tensor(ids)).logits.numpy()
    got = np.asarray(load_pretrained(result.out)(ids).logits)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
