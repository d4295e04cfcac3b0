"""SmolLM2-135M (real weights): audio codes + new words; original logits bit-identical in
transformers."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

import zett.assets

pytestmark = [pytest.mark.slow, pytest.mark.models]


def _bible_text() -> str:
    db = sqlite3.connect(str(zett.assets.bible_db()))
    bb = db.execute(
        "SELECT bbName FROM bible WHERE vText LIKE 'In the beginning%' LIMIT 1"
    ).fetchone()[0]
    rows = db.execute(
        "SELECT vText FROM bible WHERE bbName=? AND bNumber=1 AND cNumber=1 ORDER BY vNumber LIMIT "
        "8",
        (bb,),
    ).fetchall()
    return " ".join(r[0] for r in rows)


def test_smollm2_extension(tmp_path):
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from zett.cli.main import main

    src = tmp_path / "smollm2"
    assert main(["convert", str(zett.assets.smollm2_gguf()), str(src)]) == 0
    out = tmp_path / "ext"
    assert (
        main(
            [
                "extend",
                str(src),
                str(out),
                "--tokens",
                " firmament",
                "<AUDIO_{0..255}>",
                "--init",
                "fvt",
                "--pad-to-multiple",
                "64",
            ]
        )
        == 0
    )
    text = _bible_text()
    old_tok, new_tok = (
        AutoTokenizer.from_pretrained(str(src)),
        AutoTokenizer.from_pretrained(str(out)),
    )
    n = len(old_tok)
    ids = old_tok(text)["input_ids"]
    new_ids = new_tok(text)["input_ids"]
    assert n in new_ids  # " firmament" is now one token
    with torch.no_grad():
        a = AutoModelForCausalLM.from_pretrained(str(src)).eval()(torch.tensor([ids])).logits[0]
        ext = AutoModelForCausalLM.from_pretrained(str(out)).eval()
        b = ext(torch.tensor([ids])).logits[0]
        c = ext(torch.tensor([new_ids])).logits[0]
    assert b.shape[-1] % 64 == 0
    assert torch.equal(a, b[:, :n])

    # fvt makes the new token a reasonable stand-in: perplexity of the text stays in the same range
    def nll(logits, seq):
        lp = torch.log_softmax(logits[:-1].double(), -1)
        return -lp[torch.arange(len(seq) - 1), torch.tensor(seq[1:])].sum().item()

    assert nll(c, new_ids) < 1.5 * nll(a, ids)
    # the extended checkpoint loads in zett too
    from zett.models import load_pretrained

    model = load_pretrained(str(out))
    got = np.asarray(model(np.asarray([ids])).logits[0])
    np.testing.assert_allclose(got[:, :n], a.numpy(), atol=2e-3, rtol=2e-3)
