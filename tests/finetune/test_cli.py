"""Pulse of `zett finetune` on the tiny preset (a random tiny decoder over SmolLM2's tokenizer)."""

import json

from zett.cli.main import main
from zett.models import load_pretrained

TINY = "experiments/finetune/tiny.yaml"


def test_print_config(capsys):
    assert main(["finetune", TINY, "full.steps=3", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "full:\n  steps: 3\n" in out and "embeddings:\n  steps: 6\n" in out


def test_finetune_tiny_pulse(tmp_path, corpus, capsys):
    args = ["finetune", TINY, f"workdir={tmp_path}", f"data.train={corpus}", "data.langs=[]"]
    assert main(args) == 0
    assert f"model saved to {tmp_path}/model" in capsys.readouterr().out
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if "loss" in r]
    assert [r["step"] for r in train] == [2, 4, 6, 8, 10, 12]
    assert [r["phase"] for r in train] == ["embeddings"] * 3 + ["full"] * 3
    assert [r["step"] for r in rows if "val/bits_per_byte" in r] == [0, 6, 12]
    assert train[-1]["loss"] < train[0]["loss"]
    model = load_pretrained(tmp_path / "model")
    assert model.vocab_size == 49152 and model.tied
    assert (tmp_path / "model" / "tokenizer.json").is_file()
