"""Gemma-3n-shaped checkpoints (synthetic weights, Gemma-3n's config and tensor names): every table
indexed by token id grows with its range, transformers loads the result, and `--check` load-tests
the shapes it checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from extend_helpers import (
    G3N_AUDIO,
    G3N_TEXT,
    G3N_VISION,
    load_gemma3n,
    make_tiny_gemma3n,
    torch_tensors,
)

from zett.cli.main import main
from zett.extend.check import check_model_dir
from zett.extend.init import InitSpec
from zett.extend.pipeline import plan_for_dir, run_extension

PER_LAYER = "model.language_model.embed_tokens_per_layer.weight"
EMBED = "model.language_model.embed_tokens.weight"
AUDIO = "model.embed_audio.embedding.weight"
VISION = "model.embed_vision.embedding.weight"


@pytest.fixture(scope="module")
def gemma3n_dir(tmp_path_factory):
    return make_tiny_gemma3n(tmp_path_factory.mktemp("g3n") / "model")


def _text_logits(d, ids) -> torch.Tensor:
    model = load_gemma3n(d)
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0]


def test_the_fixture_has_gemma3n_tables(gemma3n_dir):
    t = torch_tensors(gemma3n_dir)
    assert t[EMBED].shape[0] == G3N_TEXT + G3N_VISION + G3N_AUDIO
    assert t[PER_LAYER].shape[0] == G3N_TEXT
    assert t[AUDIO].shape[0] == G3N_AUDIO and t[VISION].shape[0] == G3N_VISION


@pytest.mark.parametrize("segment", ["text", "audio"])
def test_growing_a_segment_grows_its_tables_and_transformers_loads_it(
    gemma3n_dir, tmp_path, segment
):
    k = 5
    tokens = [f"<new_{i}>" for i in range(k)]
    plan, tok = plan_for_dir(gemma3n_dir, tokens, segment=segment, special=True)
    assert set(plan.segment_tensors) == {PER_LAYER, AUDIO, VISION}
    out = tmp_path / "ext"
    summary = run_extension(gemma3n_dir, out, plan, tok, InitSpec("average"))
    assert summary["verify"]["ok"], summary["verify"]["problems"]

    old, new = torch_tensors(gemma3n_dir), torch_tensors(out)
    n_old = G3N_TEXT + G3N_VISION + G3N_AUDIO
    grow = {"text": (k, 0, 0), "audio": (0, 0, k)}[segment]
    assert new[EMBED].shape[0] == n_old + k
    assert new[PER_LAYER].shape[0] == G3N_TEXT + grow[0]
    assert new[VISION].shape[0] == G3N_VISION + grow[1]
    assert new[AUDIO].shape[0] == G3N_AUDIO + grow[2]
    # old rows keep their values at their (possibly shifted) place
    assert np.array_equal(new[PER_LAYER][:G3N_TEXT], old[PER_LAYER])
    assert np.array_equal(new[AUDIO][:G3N_AUDIO], old[AUDIO])
    assert np.array_equal(new[VISION], old[VISION])
    if segment == "text":  # vision and audio ids shift up by k
        assert np.array_equal(new[EMBED][G3N_TEXT + k :], old[EMBED][G3N_TEXT:])
    cfg = json.loads((out / "config.json").read_text())
    tc = cfg["text_config"]
    assert tc["vocab_size"] == n_old + k
    assert tc["vocab_size_per_layer_input"] == new[PER_LAYER].shape[0]
    assert cfg["audio_config"]["vocab_size"] == new[AUDIO].shape[0]

    report = check_model_dir(out, tokens)
    assert report.ok, report.problems
    assert any("tensors checked, 0 of the wrong shape" in line for line in report.lines)

    # transformers loads it (a size mismatch would raise) and old text ids give the same logits
    ids = [2, 5, 17, 40, 99, 200]
    a, b = _text_logits(gemma3n_dir, ids), _text_logits(out, ids)
    assert b.shape[-1] == n_old + k
    assert torch.equal(a[:, :G3N_TEXT], b[:, :G3N_TEXT])


def test_check_refuses_a_table_left_at_its_old_size(gemma3n_dir, tmp_path, capsys):
    """What zett produced before: the config grown, embed_tokens_per_layer not."""
    from safetensors.torch import load_file, save_file

    tokens = ["<a>", "<b>", "<c>", "<d>"]
    plan, tok = plan_for_dir(gemma3n_dir, tokens, segment="text")
    bad = tmp_path / "bad"
    run_extension(gemma3n_dir, bad, plan, tok, InitSpec("average"))
    (f,) = bad.glob("*.safetensors")
    t = load_file(str(f))
    t[PER_LAYER] = t[PER_LAYER][:G3N_TEXT].contiguous()
    save_file(t, str(f), metadata={"format": "pt"})
    report = check_model_dir(bad, [])
    assert not report.ok
    want = f"{PER_LAYER!r} has {G3N_TEXT} rows but segment text[0, {G3N_TEXT + 4})"
    assert any(want in p for p in report.problems), report.problems
    assert any(f"transformers expects {PER_LAYER}" in p for p in report.problems), report.problems
    assert main(["extend", str(bad), "--check"]) == 1
    assert "check failed" in capsys.readouterr().err
