"""Periodic validation during training: held-out and out-of-domain text under fixed target tokenizers
(all languages, or one), logged as bits per byte, and the identity reconstruction of source rows; the
exported hypernet.json records the data, config, steps and the last validation."""

import hashlib
import json
import math
import sqlite3

from zett import assets
from zett.cli.main import main
from zett.hypernet.curves import plot_validation


def test_validation_logs_finite_bits_per_byte(tmp_path):
    con = sqlite3.connect(assets.bible_db())
    rows = con.execute(
        "select vText from bible where bbName='k' and bNumber=1 and cNumber<=3 order by id"
    ).fetchall()
    train, held = tmp_path / "train.jsonl", tmp_path / "held.jsonl"
    train.write_text("".join(json.dumps({"text": t, "lang": "en"}) + "\n" for (t,) in rows[:60]))
    held.write_text("".join(json.dumps({"text": t, "lang": "en"}) + "\n" for (t,) in rows[60:]))
    ood = tmp_path / "ood.jsonl"
    ood.write_text(
        "".join(
            json.dumps({"text": t, "lang": lang}) + "\n"
            for t, lang in [("def f(x):\n    return x + 1\n", "en"), ("Guten Morgen!", "de")] * 3
        )
    )
    work = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "tiny",
                f"workdir={work}",
                f"data.train={train}",
                f"data.validation={held}",
                "data.validation_texts=4",
                "validation_tokenizers=[minilm]",
                f"data.ood={ood}",
                "monolingual_validation=[{lang: en, path: minilm}]",
                "data.identity_tokens=50",
                "data.build_command=make-corpus --seed 3",
                "optim.identity_steps=1",
                "optim.identity_warmup_steps=1",
                "optim.warmup_steps=1",
                "optim.total_steps=4",
                "log_every=2",
                "eval_every=3",
                "save_every=100",
                "tensorboard=false",
            ]
        )
        == 0
    )
    logged = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    val = [m for m in logged if "val/minilm/bits_per_byte" in m]
    assert [m["step"] for m in val] == [3, 4]  # every eval_every steps and at the end
    for m in val:
        bpb = m["val/minilm/bits_per_byte"]
        # a random tiny model: far from good, but a real, finite measurement (uniform over 30k ≈ 15
        # bits/token)
        assert math.isfinite(bpb) and 0.5 < bpb < 20, bpb
        # the same tokenizer on English only: the held-out set is all English, so the same number
        assert m["val/en/minilm/bits_per_byte"] == bpb
        # out of domain: code and German (the latter only under the all-language tokenizer)
        assert math.isfinite(m["val_ood/minilm/bits_per_byte"])
        assert m["val_ood/minilm/bits_per_byte"] != m["val_ood/en/minilm/bits_per_byte"]
        assert m["identity/n"] == 50
        assert -1.0 <= m["identity/cosine_p05"] <= m["identity/cosine_mean"] <= 1.0

    # the curves: validation.png written at the end, its curves exactly the logged values
    assert (work / "validation.png").is_file()
    curves = plot_validation(work, tmp_path / "again.png")
    for key in (
        "val/minilm/bits_per_byte",
        "val_ood/en/minilm/bits_per_byte",
        "identity/cosine_mean",
    ):
        want = [(m["step"], m[key]) for m in logged if key in m]
        assert list(zip(curves[key].steps, curves[key].values)) == want and len(want) == 2, key

    # the export describes itself: written by code from the run (never edited by hand)
    meta = json.loads((work / "hypernet" / "hypernet.json").read_text())
    assert meta["trained_steps"] == meta["scheduled_steps"] == 4
    assert meta["training_data"] == {
        "corpus": str(train),
        "command": "make-corpus --seed 3",
        "content_sha256": hashlib.sha256(train.read_bytes()).hexdigest(),
    }
    assert meta["train_config"]["data"]["ood"] == str(ood)
    assert meta["validation"] == {
        k: v for k, v in val[-1].items() if k.startswith(("step", "val", "identity"))
    }
    assert meta["trained_on"].startswith("1 × cpu")
