"""`zett sample`: a tokenizer.json from a text file, with its size and bytes per token printed."""

from __future__ import annotations

import re

import pytest
from tokenizers import Tokenizer

from zett.cli.main import main


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    from zett.sampling import BibleTexts

    bible = BibleTexts(("k", "r", "i"))
    lines = [bible[i][0] for i in range(0, len(bible), 40)]
    path = tmp_path_factory.mktemp("text") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, "\n".join(lines)


def test_sample_writes_a_working_tokenizer(text_file, tmp_path, capsys):
    from zett.assets import minilm_dir

    path, text = text_file
    out = tmp_path / "tok"
    code = main(
        [
            "sample",
            str(path),
            str(out),
            "--vocab-size",
            "4096",
            "--seed",
            "0",
            "--base",
            str(minilm_dir()),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    size = int(re.search(r"vocabulary size: (\d+)", printed).group(1))
    bpt = float(re.search(r"bytes per token: ([\d.]+)", printed).group(1))
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert size == tok.get_vocab_size() == 4096
    assert tok.token_to_id("[MASK]") == 103 and tok.token_to_id("[PAD]") == 0
    sample = text[:3000]
    enc = tok.encode(sample, add_special_tokens=False)
    assert tok.decode(enc.ids) == sample
    assert (
        3.0 < bpt < 10
    )  # σ ≈ 1.7e-5 at seed 0; the lognormal tail (e.g. seed 3, σ ≈ 0.035) gives near-random vocabularies
    # same seed → same file; the transformers fast tokenizer loads it
    main(
        [
            "sample",
            str(path),
            str(tmp_path / "again.json"),
            "--vocab-size",
            "4096",
            "--seed",
            "0",
            "--base",
            str(minilm_dir()),
        ]
    )
    assert (tmp_path / "again.json").read_text() == (out / "tokenizer.json").read_text()
    from transformers import PreTrainedTokenizerFast

    hf = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"))
    assert hf.decode(hf(sample, add_special_tokens=False)["input_ids"]) == sample


def test_sample_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00 not utf-8")
    assert main(["sample", str(bad), str(tmp_path / "o")]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_sample_reads_the_corpus_jsonl_format(text_file, tmp_path, capsys):
    import json

    from zett.sampling import read_text_file

    path, text = text_file
    lines = text.splitlines()
    jsonl = tmp_path / "de.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"text": t, "lang": "de"}, ensure_ascii=False) + "\n" for t in lines)
    )
    # the same documents as the plain-text file: the records' text, not their JSON
    assert read_text_file(jsonl, 2048) == read_text_file(path, 2048)
    assert main(["sample", str(jsonl), str(tmp_path / "tok.json"), "--vocab-size", "2048"]) == 0
    (tmp_path / "broken.jsonl").write_text('{"text": "fine"}\n{"txt": 1}\n')
    assert main(["sample", str(tmp_path / "broken.jsonl"), str(tmp_path / "o.json")]) == 2
    assert "broken.jsonl:2" in capsys.readouterr().err
