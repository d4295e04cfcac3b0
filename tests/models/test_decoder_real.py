"""SmolLM2-135M (real GGUF weights) in zett against transformers: logits, perplexity, greedy text."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from zett import assets
from zett.checkpoint import read_gguf
from zett.models import decoder, llama_hf
from zett.models.generate import generate_greedy
from zett.models.weights import assign_weights

pytestmark = [pytest.mark.slow, pytest.mark.models]

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TEXT = (
    "The quick brown fox jumps over the lazy dog. It was a sunny day, and the children were "
    "playing in the park "
    "while their parents sat on the benches and talked about the weather."
)


@pytest.fixture(scope="module")
def smollm2():
    return read_gguf(assets.smollm2_gguf())  # installed by install.sh: missing is a failure


def test_smollm2_matches_transformers(smollm2):
    cfg = llama_hf.from_hf_config(smollm2.hf_config)
    model = nnx.eval_shape(lambda: decoder.DecoderLM(cfg, rngs=nnx.Rngs(0)))
    assign_weights(
        model, smollm2.tensors, llama_hf.weight_rules(cfg), ignore=llama_hf.ignored_tensors(cfg)
    )
    ref = transformers.LlamaForCausalLM(transformers.LlamaConfig(**smollm2.hf_config)).eval()
    missing, unexpected = ref.load_state_dict(
        {k: torch.tensor(v) for k, v in smollm2.tensors.items()}, strict=False
    )
    assert not unexpected and set(missing) <= {"lm_head.weight"}  # tied head
    ref.tie_weights()

    ids = smollm2.tokenizer.encode(TEXT).ids
    logits = np.asarray(nnx.jit(lambda m, x: m(x).logits)(model, jnp.asarray([ids])))[0]
    with torch.no_grad():
        expected = ref(torch.tensor([ids])).logits[0].numpy()
    # measured: max |diff| 9e-5 with logits up to 31 (fp32 rounding through 30 layers)
    np.testing.assert_allclose(logits, expected, atol=2e-4, rtol=0)

    # the weights are SmolLM2's, not noise read through the same bug on both sides: it predicts the
    # English text far better than the same tokens shuffled
    def ppl(ids: list[int]) -> float:
        x = np.asarray(nnx.jit(lambda m, x: m(x).logits)(model, jnp.asarray([ids])))[0]
        logp = np.asarray(jax.nn.log_softmax(x, -1))
        return float(np.exp(-np.mean(logp[np.arange(len(ids) - 1), ids[1:]])))

    shuffled = [ids[0], *np.random.default_rng(0).permutation(ids[1:]).tolist()]
    assert ppl(shuffled) > 10 * ppl(ids), (ppl(shuffled), ppl(ids))

    prompt = ids[:10]
    ours = np.asarray(generate_greedy(model, jnp.asarray([prompt]), 12))[0]
    with torch.no_grad():
        theirs = ref.generate(
            torch.tensor([prompt]), max_new_tokens=12, do_sample=False, eos_token_id=None
        )[0]
    np.testing.assert_array_equal(ours, theirs.numpy())
