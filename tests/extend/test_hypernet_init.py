"""`--init hypernet`: new tokens with text get the hypernetwork's prediction, others the average."""

from __future__ import annotations

import numpy as np
import pytest
from extend_helpers import make_tiny_llama
from flax import nnx
from safetensors.numpy import load_file

from zett.extend import InitSpec, plan_for_dir, run_extension
from zett.hypernet.checkpoint import load_hypernet, save_hypernet
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Hypernet
from zett.hypernet.predict import predict_tokens
from zett.tokenization import Decomposer, to_canonical


def _tables(d):
    out = {}
    for f in d.glob("*.safetensors"):
        out.update(load_file(str(f)))
    return out


@pytest.mark.parametrize("tie", [False, True])
def test_hypernet_init_predicts_rows_of_new_words(tmp_path, bpe_tokenizer, tie):
    src = make_tiny_llama(tmp_path / "src", bpe_tokenizer, tie=tie)
    old = _tables(src)
    e_in = old["model.embed_tokens.weight"]
    e_out = None if tie else old["lm_head.weight"]
    cfg = HypernetConfig(
        hidden_size=32, intermediate_size=64, num_layers=1, predict_output_embeddings=not tie
    )
    hn_dir = save_hypernet(
        tmp_path / "hn", Hypernet(cfg, e_in, e_out, rngs=nnx.Rngs(0)), "tiny", "bpe"
    )
    words = [" paragraph", "wrapper"]
    plan, tok = plan_for_dir(src, words + ["<X_0>"], special=False)
    out = tmp_path / "out"
    run_extension(src, out, plan, tok, InitSpec("hypernet", hypernet=str(hn_dir)))
    new = _tables(out)
    n = bpe_tokenizer.get_vocab_size()
    assert np.array_equal(new["model.embed_tokens.weight"][:n], e_in)
    hn = load_hypernet(hn_dir, e_in, e_out)
    want_in, want_out, _ = predict_tokens(
        hn,
        Decomposer(tok, maxlen=cfg.surface_maxlen),
        [to_canonical(w.encode()) for w in words + ["<X_0>"]],
    )
    np.testing.assert_allclose(
        new["model.embed_tokens.weight"][n : n + 3], want_in, rtol=1e-5, atol=1e-6
    )
    if not tie:
        np.testing.assert_allclose(new["lm_head.weight"][n : n + 3], want_out, rtol=1e-5, atol=1e-6)
        assert np.array_equal(new["lm_head.weight"][:n], e_out)


def test_hypernet_init_needs_a_hypernet(tmp_path, bpe_tokenizer, tiny_llama_dir):
    plan, tok = plan_for_dir(tiny_llama_dir, [" paragraph"], special=False)
    with pytest.raises(ValueError, match="--hypernet"):
        run_extension(tiny_llama_dir, tmp_path / "out", plan, tok, InitSpec("hypernet"))
