"""Real SmolLM2-135M moved by FVT onto a German Unigram tokenizer, then fine-tuned (embeddings only):
held-out bits per byte fall."""

import json
import sqlite3

import pytest
from ft_helpers import config, metrics

from zett import assets
from zett.bench.tokenizers import train_unigram
from zett.finetune import finetune
from zett.transfer import TransferConfig, transfer


def _german(book_lo: int, book_hi: int) -> list[str]:
    """Chapters of the German Bible 'e' (one text per chapter), books lo..hi."""
    with sqlite3.connect(assets.bible_db()) as db:
        rows = db.execute(
            "select bNumber, cNumber, group_concat(vText, ' ') from bible where bbName='e' and "
            "bNumber between ? and ? group by bNumber, cNumber order by bNumber, cNumber",
            (book_lo, book_hi),
        ).fetchall()
    return [text for _, _, text in rows]


@pytest.mark.slow
def test_smollm2_fvt_german_heldout_bpb_falls(tmp_path):
    train, heldout = _german(1, 5), _german(40, 40)[:12]  # Torah vs Matthew: held out by book
    tok = tmp_path / "unigram-de.json"
    train_unigram(train, 8000).save(str(tok))
    model = transfer(
        TransferConfig(model="smollm2", tokenizer=str(tok), out=str(tmp_path / "smol-de"),
                       method="fvt", progress=False)
    )  # fmt: skip
    for name, texts in (("train", train), ("heldout", heldout)):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps({"text": t}) + "\n" for t in texts)
        )
    cfg = config(
        model,
        tmp_path / "train.jsonl",
        tmp_path / "run",
        embeddings={"steps": 30, "lr": 1e-3, "warmup_steps": 3},
        full={"steps": 0},
        data={"validation": str(tmp_path / "heldout.jsonl"), "validation_texts": 12,
              "block_size": 128, "batch_size": 4},
        eval_every=30, log_every=5, save_every=30,
    )  # fmt: skip
    result = finetune(cfg, progress=False)
    val = [m for m in metrics(tmp_path / "run") if "val/bits_per_byte" in m]
    assert [m["step"] for m in val] == [0, 30]
    before, after = val[0]["val/bits_per_byte"], val[-1]["val/bits_per_byte"]
    print(f"held-out bits/byte: FVT zero-shot {before:.3f} → after 30 steps {after:.3f}")
    assert after < before
    assert result.out is not None and (result.out / "tokenizer.json").is_file()
