"""`zett data build` / `zett data info` end to end on the Bible source."""

from __future__ import annotations

import json

from zett.cli.main import main


def test_cli_build_and_info(tmp_path, capsys):
    out = tmp_path / "corpus"
    rc = main(
        [
            "data",
            "build",
            "--out",
            str(out),
            "--langs",
            "fa,uk",
            "--sources",
            "bible",
            "--max-chars-per-lang",
            "8000",
            "--heldout-fraction",
            "0.2",
            "--seed",
            "1",
        ]
    )
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["languages"]) == ["fa", "uk"]
    assert manifest["config"]["seed"] == 1 and manifest["config"]["heldout_fraction"] == 0.2
    assert "2 languages, scripts: Arabic, Cyrillic" in capsys.readouterr().out
    assert main(["data", "info", str(out)]) == 0
    assert "uk    Cyrillic   heldout" in capsys.readouterr().out


def test_cli_bad_language(tmp_path, capsys):
    rc = main(
        ["data", "build", "--out", str(tmp_path), "--langs", "en,klingon", "--sources", "bible"]
    )
    assert rc == 2
    assert "unknown language 'klingon'" in capsys.readouterr().err
    assert not (tmp_path / "manifest.json").exists()


def test_cli_config_file_with_flag_override(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("langs: [uk]\nsources: [bible]\nmax_chars_per_lang: 5000\nseed: 5\n")
    out = tmp_path / "corpus"
    assert main(["data", "build", "--config", str(cfg), "--out", str(out), "--seed", "6"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["languages"]) == ["uk"]
    assert manifest["config"]["seed"] == 6 and manifest["config"]["max_chars_per_lang"] == 5000
