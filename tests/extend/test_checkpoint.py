"""Checkpoint extension: tables grow, old rows bit-identical, logits of original inputs unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from extend_helpers import make_tiny_llama, stdlib_text, torch_tensors
from safetensors import safe_open
from transformers import AutoTokenizer, LlamaForCausalLM

from zett.extend.checkpoint import extend_checkpoint
from zett.extend.init import InitSpec
from zett.extend.pipeline import plan_for_dir, run_extension
from zett.extend.tokenizer import expand_pattern, load_tokenizer
from zett.models import load_pretrained

TEXT = stdlib_text(1)[0][2000:2600]


def _logits(d, ids) -> torch.Tensor:
    model = LlamaForCausalLM.from_pretrained(str(d)).eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def _final_hidden(d, ids) -> torch.Tensor:
    model = LlamaForCausalLM.from_pretrained(str(d)).eval()
    with torch.no_grad():
        return model(torch.tensor([ids]), output_hidden_states=True).hidden_states[-1][0]


def test_audio_codes_untied_padded(tmp_path, tiny_llama_dir, bpe_tokenizer):
    tokens = expand_pattern("<AUDIO_{i}>", 100)
    plan, tok = plan_for_dir(
        tiny_llama_dir, tokens, segment="audio", special=True, pad_to_multiple=64
    )
    n = bpe_tokenizer.get_vocab_size()
    assert plan.new_layout.names == ("text", "audio", "padding")
    assert plan.new_layout.size % 64 == 0 and plan.token_ids == tuple(range(n, n + 100))
    out = tmp_path / "ext"
    summary = run_extension(tiny_llama_dir, out, plan, tok, InitSpec("average"))
    assert summary["verify"]["ok"], summary["verify"]["problems"]
    old, new = torch_tensors(tiny_llama_dir), torch_tensors(out)
    assert new["model.embed_tokens.weight"].shape[0] == plan.new_layout.size
    assert new["lm_head.weight"].shape[0] == plan.new_layout.size
    for name in old:
        if name in ("model.embed_tokens.weight", "lm_head.weight"):
            assert np.array_equal(new[name][:n], old[name]), name  # bit-identical
            assert not np.array_equal(new[name][n], new[name][n + 1])  # noise breaks symmetry
        else:
            assert np.array_equal(new[name], old[name]), name
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vocab_size"] == plan.new_layout.size
    assert json.loads((out / "vocab_layout.json").read_text())[1]["name"] == "audio"

    # logits of original-token inputs are unchanged on the original ids
    ids = bpe_tokenizer.encode(TEXT).ids[:64]
    a, b = _logits(tiny_llama_dir, ids), _logits(out, ids)
    assert b.shape[-1] == plan.new_layout.size
    assert torch.equal(a, b[:, :n])  # bit-identical, not merely close
    assert torch.isfinite(b).all()

    # the extended tokenizer feeds audio codes straight into the extended model
    hf_tok = AutoTokenizer.from_pretrained(str(out))
    mixed = hf_tok("count <AUDIO_5><AUDIO_99>")["input_ids"]
    assert mixed[-2:] == [n + 5, n + 99]
    assert _logits(out, mixed).shape == (len(mixed), plan.new_layout.size)


def test_tied_bf16_sharded_with_fvt(tmp_path, bpe_tokenizer):
    src = make_tiny_llama(tmp_path / "src", bpe_tokenizer, tie=True, dtype="bfloat16", shard="40KB")
    assert (src / "model.safetensors.index.json").is_file()
    words = [" paragraph", "wrapper"]
    plan, tok = plan_for_dir(src, words, special=False)
    out = tmp_path / "out"
    run_extension(src, out, plan, tok, InitSpec("fvt"))
    old, new = torch_tensors(src), torch_tensors(out)
    n = bpe_tokenizer.get_vocab_size()
    emb_old, emb_new = old["model.embed_tokens.weight"], new["model.embed_tokens.weight"]
    assert np.array_equal(emb_new[:n], emb_old)
    # fvt: the mean of the rows of the word's pieces under the original tokenizer (in bf16)
    pieces = bpe_tokenizer.encode(" paragraph", add_special_tokens=False).ids
    assert len(pieces) > 1
    want = (
        torch.tensor(emb_old[pieces].astype(np.float64).mean(0)).to(torch.bfloat16).float().numpy()
    )
    np.testing.assert_array_equal(emb_new[n], want)
    with safe_open(str(next(out.glob("*.safetensors"))), "pt") as h:
        assert h.get_tensor(next(iter(h.keys()))).dtype == torch.bfloat16
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(old)
    ids = bpe_tokenizer.encode(TEXT).ids[:48]
    a, b = _logits(src, ids), _logits(out, ids)
    hf_tok = AutoTokenizer.from_pretrained(str(out))
    enc = hf_tok("a paragraph wrapper", add_special_tokens=False)["input_ids"]
    assert enc[1] == n and enc[-1] == n + 1
    assert torch.equal(a, b[:, :n])


def test_zett_loads_the_extended_checkpoint(tmp_path, tiny_llama_dir, bpe_tokenizer):
    plan, tok = plan_for_dir(tiny_llama_dir, ["<X0>", "<X1>"], special=True)
    out = tmp_path / "ext"
    run_extension(tiny_llama_dir, out, plan, tok, InitSpec("mvn"))
    model = load_pretrained(str(out))
    n = bpe_tokenizer.get_vocab_size()
    ids = bpe_tokenizer.encode(TEXT).ids[:32]
    ref = _logits(tiny_llama_dir, ids).numpy()
    got = np.asarray(model(np.asarray([ids])).logits[0])
    assert got.shape[-1] == n + 2
    np.testing.assert_allclose(got[:, :n], ref, atol=2e-4, rtol=2e-4)


def test_errors(tmp_path, tiny_llama_dir, bpe_tokenizer):
    from zett.extend.layout import LayoutError

    plan, tok = plan_for_dir(tiny_llama_dir, ["<X>"], special=True)
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        extend_checkpoint(tiny_llama_dir, out, plan.mapping, InitSpec(), plan.config)
    assert (out / "keep").is_file()
    # config and checkpoint disagree: config says more ids than the embedding has
    bad = make_tiny_llama(tmp_path / "bad", bpe_tokenizer)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["vocab_size"] += 10
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(LayoutError, match="size mismatch"):
        plan_for_dir(bad, ["<X>"])
    # tokenizer larger than the checkpoint
    small = make_tiny_llama(
        tmp_path / "small", bpe_tokenizer, vocab=bpe_tokenizer.get_vocab_size() - 5
    )
    with pytest.raises(LayoutError, match="tokenizer has"):
        plan_for_dir(small, ["<X>"])
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        load_tokenizer(tmp_path / "o")


def test_second_extension_grows_text_and_shifts_audio(tmp_path, tiny_llama_dir, bpe_tokenizer):
    """text | audio from a first run; new text words go before audio, whose ids and rows move along."""
    n = bpe_tokenizer.get_vocab_size()
    first = tmp_path / "first"
    plan, tok = plan_for_dir(
        tiny_llama_dir, expand_pattern("<AUDIO_{i}>", 16), segment="audio", special=True
    )
    run_extension(tiny_llama_dir, first, plan, tok, InitSpec("random"))
    plan2, tok2 = plan_for_dir(first, [" paragraph", "wrapper"], segment="text")
    assert plan2.old_layout.names == ("text", "audio")  # read back from vocab_layout.json
    assert plan2.token_ids == (n, n + 1) and plan2.new_layout.offset("audio") == n + 2
    second = tmp_path / "second"
    summary = run_extension(first, second, plan2, tok2, InitSpec("fvt"))
    assert summary["verify"]["ok"], summary["verify"]["problems"]
    t1, t2 = torch_tensors(first), torch_tensors(second)
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        assert np.array_equal(t2[name][:n], t1[name][:n])
        assert np.array_equal(
            t2[name][n + 2 :], t1[name][n:]
        )  # audio rows moved by 2, bit-identical
    hf_tok = AutoTokenizer.from_pretrained(str(second))
    assert hf_tok.convert_tokens_to_ids("<AUDIO_0>") == n + 2
    ids1 = AutoTokenizer.from_pretrained(str(first))("def f<AUDIO_3>")["input_ids"]
    ids2 = hf_tok("def f<AUDIO_3>")["input_ids"]
    assert ids2 == [plan2.mapping(i) for i in ids1]
    # same model, permuted vocabulary: the transformer's output is bit-identical; the LM head's
    # logits agree to fp32 rounding only, since the BLAS kernel's blocking depends on the output
    # width (vocab)
    assert torch.equal(_final_hidden(first, ids1), _final_hidden(second, ids2))
    a, b = _logits(first, ids1), _logits(second, ids2)
    torch.testing.assert_close(a, b[:, plan2.mapping.old_to_new], rtol=0, atol=1e-6)
