"""`zett bench` from the command line: a one-cell run with overrides, and clear errors."""

from __future__ import annotations

import json

from zett.bench import make_bytes_tokenizer
from zett.cli.main import main


def test_bench_cli_runs_and_errors(tmp_path, capsys):
    from zett.models import save_pretrained
    from zett.models.decoder import tiny_config
    from zett.models.registry import build_model

    tok_dir = tmp_path / "tok"
    tok_dir.mkdir()
    make_bytes_tokenizer().save(str(tok_dir / "tokenizer.json"))
    save_pretrained(
        build_model(tiny_config(vocab_size=257), seed=1),
        tmp_path / "model",
        [tok_dir / "tokenizer.json"],
    )
    corpus = tmp_path / "corpus"
    (corpus / "heldout").mkdir(parents=True)
    (corpus / "heldout" / "en.jsonl").write_text(
        json.dumps({"text": "In the beginning God created the heaven.", "doc": "gen/1"}) + "\n"
    )
    (corpus / "manifest.json").write_text(
        json.dumps({"languages": {"en": {"splits": {"heldout": {"file": "heldout/en.jsonl"}}}}})
    )
    cfg = tmp_path / "bench.yaml"
    cfg.write_text(
        f"models: [{tmp_path / 'model'}]\ntokenizers: [bytes]\nlanguages: [en]\nmethods: "
        f"[original, mean]\n"
        f"corpus: {corpus}\noutput: {tmp_path / 'out'}\n"
        f"domains: [{{name: in-domain, corpus: {corpus}}}]\n"
        "protocol: {context_bytes: 32, stride_bytes: 32}\n"
    )
    args = ["texts_per_language=1", "min_units=1", "plots=false", "--no-progress"]
    assert main(["bench", str(cfg), *args]) == 0
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    assert [(r["tokenizer"], r["method"]) for r in rows] == [
        ("original", "original"),
        ("bytes", "mean"),
    ]
    assert rows[0]["n_bytes"] == len("In the beginning God created the heaven.")

    assert main(["bench", str(cfg), "methods=[fvt, telepathy]"]) == 2
    assert "unknown method 'telepathy'" in capsys.readouterr().err
    assert main(["bench", str(cfg), "models=[nowhere/model]"]) == 2
    assert "unknown model" in capsys.readouterr().err
