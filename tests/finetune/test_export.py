"""The exported checkpoint loads in transformers without custom code and gives zett's logits; a tied
head stays tied, an untied one untied."""

import numpy as np
import pytest
from ft_helpers import config, weights

from zett.finetune import finetune
from zett.models import load_pretrained


@pytest.mark.parametrize("tied", [True, False])
def test_export_loads_in_transformers_with_the_same_logits(
    tmp_path, tiny_tied, tiny_untied, corpus, tied
):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    source = tiny_tied if tied else tiny_untied
    cfg = config(
        source,
        corpus,
        tmp_path,
        embeddings={"steps": 2},
        full={"steps": 2},
        data={"validation_texts": 0},
    )
    out = finetune(cfg, progress=False).out
    assert ("lm_head.weight" in weights(out)) is not tied
    hf = transformers.AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    assert hf.config.tie_word_embeddings is tied
    assert hf.config.vocab_size == 400 and (hf.config.bos_token_id, hf.config.eos_token_id) == (
        1,
        2,
    )
    ids = np.random.default_rng(0).integers(0, 400, (2, 12))
    with torch.no_grad():
        expected = hf(torch.as_tensor(ids)).logits.numpy()
    got = np.asarray(load_pretrained(out)(ids).logits)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    tok = transformers.AutoTokenizer.from_pretrained(out)
    assert tok("Im Anfang").input_ids  # the tokenizer files load as well
