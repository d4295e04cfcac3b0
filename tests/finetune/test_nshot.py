"""n-shot hypernetwork training on one target tokenizer: the auxiliary loss starts at zero (the
predictions are the step-0 anchors), the hypernetwork moves, an interrupted run resumes exactly, and
the transferred model is exported."""

import numpy as np
import pytest
from flax import nnx
from ft_helpers import config, metrics, weights

from zett.bench.tokenizers import train_unigram
from zett.finetune import finetune
from zett.hypernet import Hypernet, HypernetConfig, save_hypernet
from zett.models import load_pretrained


@pytest.fixture(scope="module")
def hypernet(tmp_path_factory, tiny_untied):
    model = load_pretrained(tiny_untied)
    cfg = HypernetConfig(
        hidden_size=32, intermediate_size=64, num_layers=1, surface_maxlen=4,
        predict_output_embeddings=True,
    )  # fmt: skip
    hn = Hypernet(
        cfg,
        np.asarray(model.get_input_embeddings()),
        np.asarray(model.get_output_embeddings()),
        rngs=nnx.Rngs(0),
    )
    return save_hypernet(
        tmp_path_factory.mktemp("hn") / "hn", hn, str(tiny_untied), str(tiny_untied)
    )


@pytest.fixture(scope="module")
def target(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("target") / "tokenizer.json"
    train_unigram(texts[1::2], 300).save(str(path))
    return path


def _cfg(model, corpus, work, hypernet, target):
    return config(
        model,
        corpus,
        work,
        mode="hypernet",
        tokenizer=str(target),
        nshot={"hypernet": str(hypernet), "phase": {"steps": 4, "lr": 1e-2, "warmup_steps": 1},
               "n_subsample": 256},
        data={"validation_texts": 2},
    )  # fmt: skip


def test_nshot_trains_the_hypernet_and_resumes_exactly(
    tmp_path, tiny_untied, corpus, hypernet, target
):
    full, cut = tmp_path / "full", tmp_path / "cut"
    result = finetune(_cfg(tiny_untied, corpus, full, hypernet, target), progress=False)
    assert result.step == 4 and result.out == full / "model"
    rows = metrics(full)
    train = [m for m in rows if "loss" in m]
    assert [m["step"] for m in train] == [1, 2, 3, 4]
    assert train[0]["aux_loss"] < 1e-6  # step 0: the predictions are the anchors
    assert train[-1]["aux_loss"] > 1e-4  # the hypernet moved away from them
    assert [m["step"] for m in rows if "val/bits_per_byte" in m] == [0, 4]
    out = weights(result.out)
    assert out["model.embed_tokens.weight"].shape == (300, 32)
    assert out["lm_head.weight"].shape == (300, 32)

    cfg = _cfg(tiny_untied, corpus, cut, hypernet, target)
    assert finetune(cfg, max_steps=2, progress=False).out is None
    finetune(cfg, progress=False)
    timing = ("data_s", "step_s", "tokens_per_s")
    strip = lambda rows: [{k: v for k, v in m.items() if k not in timing} for m in rows]  # noqa: E731
    assert strip(metrics(cut)) == strip(rows)
    for name, value in weights(cut / "model").items():
        np.testing.assert_array_equal(value, out[name], err_msg=name)
