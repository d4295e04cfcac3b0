"""Pulse test: `zett demo` transfers the real SmolLM2 zero-shot and the shipped hypernet beats FVT."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from zett import assets
from zett.checkpoint import read_gguf
from zett.cli.main import build_parser, main
from zett.demo import DemoConfig, split_texts
from zett.eval.model_bpb import split_text


def test_demo_registered():
    args = build_parser().parse_args(["demo"])
    assert args.model == "smollm2" and "hypernet" in args.methods


def transformers_bits_per_byte(texts: list[str], max_len: int = 256) -> float:
    """SmolLM2's bits per byte on `texts` computed by transformers' PyTorch Llama: every token of
    each ≤ `max_len`-token piece scored after BOS, divided by the UTF-8 bytes."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    g = read_gguf(assets.smollm2_gguf())
    ref = transformers.LlamaForCausalLM(transformers.LlamaConfig(**g.hf_config)).eval()
    ref.load_state_dict({k: torch.tensor(v) for k, v in g.tensors.items()}, strict=False)
    ref.tie_weights()
    tok = g.tokenizer
    bos = g.hf_config["bos_token_id"]  # the row the demo conditions every text on
    encode = lambda t: tok.encode(t, add_special_tokens=False).ids  # noqa: E731
    nats, n_bytes = 0.0, 0
    for text in texts:
        n_bytes += len(text.encode("utf-8"))
        for piece in split_text(text, encode, max_len):  # where the demo cuts long texts
            ids = [bos, *encode(piece)]
            with torch.no_grad():
                logp = torch.log_softmax(ref(torch.tensor([ids])).logits[0].double(), -1).numpy()
            nats -= float(logp[np.arange(len(ids) - 1), ids[1:]].sum())
    return nats / math.log(2) / n_bytes


@pytest.mark.slow
def test_demo_hypernet_beats_fvt(capsys):
    assert (
        main(["demo", "--methods", "hypernet,fvt", "--texts", "12", "--max-new-tokens", "6"]) == 0
    )
    out = capsys.readouterr().out
    rows = dict(re.findall(r"│ (original|hypernet|fvt)\s+│[^│]*│\s+([\d.]+)\s+│", out))
    assert set(rows) == {"original", "hypernet", "fvt"}, out
    assert float(rows["hypernet"]) < float(rows["fvt"]), out
    # the original model's row is SmolLM2 itself on the same held-out texts, as transformers scores
    # it (the table prints 3 decimals)
    _, held = split_texts(DemoConfig(heldout_texts=12))
    assert float(rows["original"]) == pytest.approx(transformers_bits_per_byte(held), abs=1e-3)
    assert "greedy continuation (hypernet" in out


def test_demo_text_file_too_short(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("one line\n")
    with pytest.raises(ValueError, match="at least 20"):
        split_texts(DemoConfig(text_file=str(f)))
