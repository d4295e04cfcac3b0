"""Bad input to `zett finetune`: each a clear error before any work (nothing written), or a clean
recovery (a full disk while checkpointing, or while exporting)."""

import errno
import os

import pytest
from ft_helpers import config, metrics

from zett.cli.main import main
from zett.finetune import finetune
from zett.finetune.blocks import DataError
from zett.finetune.checks import VocabMismatchError
from zett.models import build_model, save_pretrained
from zett.models.decoder import tiny_config
from zett.training import TrainingError


def _tiny(path, unigram, **overrides):
    cfg = tiny_config(hidden_size=32, intermediate_size=64, **overrides)
    return save_pretrained(build_model(cfg), path, tokenizer_files=[unigram])


def test_tokenizer_larger_than_the_embedding(tmp_path, unigram, corpus):
    model = _tiny(tmp_path / "m", unigram, vocab_size=300)
    with pytest.raises(VocabMismatchError, match="has 400 tokens but the embedding has 300 rows"):
        finetune(config(model, corpus, tmp_path / "w"), progress=False)
    assert not (tmp_path / "w").exists()
    args = ["finetune", "experiments/finetune/tiny.yaml", f"model={model}", f"workdir={tmp_path}/w"]
    assert main(args) == 2  # the CLI reports it as an error, no traceback


def test_config_special_id_is_not_a_special_token(tmp_path, unigram, corpus):
    model = _tiny(tmp_path / "m", unigram, vocab_size=400, bos_token_id=1, eos_token_id=57)
    with pytest.raises(VocabMismatchError, match="eos_token_id=57.*not a special token"):
        finetune(config(model, corpus, tmp_path / "w"), progress=False)


def test_text_the_tokenizer_maps_to_unk(tmp_path, tiny_tied):
    text = tmp_path / "zh.txt"
    text.write_text("世界你好 谢谢 再见\n" * 50 + "天地玄黄 宇宙洪荒\n" * 50)
    with pytest.raises(DataError, match=r"zh.txt.*% of its \d+ bytes become the unknown token"):
        finetune(config(tiny_tied, text, tmp_path / "w"), progress=False)
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    "rows, message",
    [
        ("350:450", "range 350:450 names rows the model does not have"),
        ("5:5", "range 5:5 is empty"),
        ("no/such/tokenizer.json", "neither id ranges"),
    ],
)
def test_new_rows_that_do_not_exist(tmp_path, tiny_tied, corpus, rows, message):
    cfg = config(tiny_tied, corpus, tmp_path / "w", embeddings={"rows": "new"}, new_rows=rows)
    with pytest.raises(ValueError, match=message):
        finetune(cfg, progress=False)
    assert not (tmp_path / "w").exists()


def test_rows_new_without_new_rows(tmp_path, tiny_tied, corpus):
    cfg = config(tiny_tied, corpus, tmp_path / "w", embeddings={"rows": "new"})
    assert cfg.embeddings.steps == 4
    with pytest.raises(ValueError, match="embeddings.rows: new needs new_rows"):
        finetune(cfg, progress=False)


def test_disk_full_while_checkpointing(tmp_path, tiny_tied, corpus, full_disk):
    """The second checkpoint (step 4) hits ENOSPC half-way: the run stops with a clear error, the
    partial write is gone, the step-3 checkpoint is kept; the same command then resumes and ends."""
    full_disk(4)
    cfg = config(tiny_tied, corpus, tmp_path, data={"validation_texts": 0})
    with pytest.raises(
        TrainingError,
        match=r"checkpoint of step 4.*No space left on device.*"
        r"last good checkpoint \(step 3\) is kept",
    ):
        finetune(cfg, progress=False)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["3"]
    full_disk(None)
    result = finetune(cfg, progress=False)
    assert result.step == 8 and result.out is not None
    assert [m["step"] for m in metrics(tmp_path)] == list(range(1, 9))


def test_disk_full_while_exporting(tmp_path, tiny_tied, corpus, monkeypatch):
    import zett.models.hf_io as hf_io

    write = hf_io.write_sharded

    def full_disk(directory, *args, **kwargs):
        (directory / "model.safetensors").write_bytes(b"\0" * 100)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(hf_io, "write_sharded", full_disk)
    cfg = config(
        tiny_tied, corpus, tmp_path / "w", data={"validation_texts": 0}, out=str(tmp_path / "out")
    )
    with pytest.raises(OSError, match="No space left"):
        finetune(cfg, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]  # no output, no temp dir beside it
    monkeypatch.setattr(hf_io, "write_sharded", write)
    result = finetune(cfg, progress=False)  # training is done: it only exports
    assert result.out == tmp_path / "out" and (tmp_path / "out" / "model.safetensors").is_file()
