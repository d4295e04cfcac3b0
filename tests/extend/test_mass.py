"""Probability on new ids and padding after `zett extend` (issue 18): the default init keeps new ids
under 0.1% on held-out text, padding rows get exactly 0 in fp32, old-id logits stay bit-identical.
Expected values come from transformers' logits and a numpy softmax, not from `zett.extend.mass`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zett.extend import InitSpec, plan_for_dir, run_extension
from zett.extend.checkpoint import extend_table
from zett.extend.layout import VocabLayout
from zett.extend.mass import heldout_passages, new_id_mass
from zett.extend.padding import PAD_LOGIT_GAP, max_min_direction
from zett.extend.pipeline import reserved_mask
from zett.extend.tokenizer import load_tokenizer

TOKENS = 48  # tokens per held-out passage in the real-model tests (fast)


def test_padding_rows_get_the_padding_row_and_statistics_skip_old_padding():
    rng = np.random.default_rng(0)
    old = rng.standard_normal((6, 4)).astype(np.float32)
    old[5] = 1e3  # an earlier extension's padding row: must not enter the mean
    layout = VocabLayout.from_sizes([("text", 5)]).append("padding", 1, reserved=True)[0]
    new, mapping = layout.add_segment("audio", 2)
    new, pad = new.pad_to_multiple(5)  # the trailing padding segment grows: [7, 10)
    mapping = mapping.compose(pad)
    pad_ids = np.flatnonzero(reserved_mask(new) & ~np.isin(np.arange(new.size), mapping.old_to_new))
    row = np.full(4, -7.0, np.float32)
    out = extend_table(
        old, mapping, InitSpec("average", noise=0.0), "input", pad_ids, row, ~reserved_mask(layout)
    )
    assert new.size == 10 and pad_ids.tolist() == [8, 9]  # old padding row moved to id 7
    np.testing.assert_array_equal(out[mapping.old_to_new], old)
    np.testing.assert_allclose(out[5:7], np.tile(old[:5].astype(np.float64).mean(0), (2, 1)), 1e-6)
    np.testing.assert_array_equal(out[pad_ids], np.tile(row, (2, 1)))
    bias = extend_table(
        old[:, 0], mapping, InitSpec("average"), "bias", pad_ids, None, ~reserved_mask(layout)
    )
    assert bias[pad_ids].tolist() == [-PAD_LOGIT_GAP] * 2
    assert bias[5] == np.float32(old[:5, 0].astype(np.float64).mean())


def test_max_min_direction_finds_the_hand_computed_optimum():
    # 99 states at (1, 0), one at (-0.5, 1): the mean direction gives the lone state a negative
    # margin; the best unit d = (cos t, sin t) equalises cos t = -0.5 cos t + sin t, tan t = 1.5
    states = np.array([[1.0, 0.0]] * 99 + [[-0.5, 1.0]])
    mean = states.mean(0) / np.linalg.norm(states.mean(0))
    assert (states @ mean).min() < 0
    d = max_min_direction(states, steps=2000)
    best = np.cos(np.arctan(1.5))  # 0.5547
    assert (states @ d).min() == pytest.approx(best, rel=1e-3)


@pytest.fixture(scope="module")
def smollm2_dir(tmp_path_factory):
    from zett.cli.main import main

    out = tmp_path_factory.mktemp("smollm2") / "src"
    assert main(["convert", "smollm2", str(out)]) == 0
    return out


def _reference(model_dir, texts, new_ids, pad_ids):
    """Per label: (mass on new ids, max padding probability, logits) from transformers' logits and
    a numpy float32 softmax."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    tok = load_tokenizer(model_dir)
    out = {}
    for label, passages in texts.items():
        new, pad, logits = [], [], []
        for t in passages:
            ids = tok.encode(t).ids[:TOKENS]
            with torch.no_grad():
                lg = model(torch.tensor([ids])).logits[0].float().numpy()
            x = lg - lg.max(-1, keepdims=True)
            p = np.exp(x) / np.exp(x).sum(-1, keepdims=True)  # float32 throughout
            new.append(p[:, new_ids].astype(np.float64).sum(-1))
            pad.append(p[:, pad_ids].max(-1) if len(pad_ids) else np.zeros(len(p), np.float32))
            logits.append(lg)
        out[label] = (np.concatenate(new), np.concatenate(pad), logits)
    return out


def _check_model(src, tmp_path):
    pytest.importorskip("torch")
    from zett.models import load_pretrained

    # audio codes that force padding rows (old vocabulary + 8000 is not a multiple of 128)
    plan, tok = plan_for_dir(src, [f"<AUDIO_{i}>" for i in range(8000)], "audio", True, 128)
    out = tmp_path / "ext"
    summary = run_extension(src, out, plan, tok, InitSpec(), verify=False, mass=False)
    assert summary["padding"]["calibrated"]
    pad_ids = np.flatnonzero(reserved_mask(plan.new_layout))
    assert len(pad_ids) > 0
    texts = {k: v[:2] for k, v in heldout_passages(("en", "de"), 2).items()}
    report = new_id_mass(
        load_pretrained(str(out)),
        load_tokenizer(out),
        texts,
        plan.new_layout,
        plan.token_ids,
        TOKENS,
        progress=False,
    )
    ref = _reference(out, texts, np.asarray(plan.token_ids, np.int64), pad_ids)
    old_ref = _reference(src, texts, np.zeros(0, np.int64), pad_ids[:0])
    n_old = plan.old_layout.size
    for label, (new, pad, logits) in ref.items():
        got = report.to_dict()[label]
        # zett's and transformers' logits agree to ~2e-3, so probabilities to ~1% relative
        assert got["new_total"]["mean"] == pytest.approx(new.mean(), rel=1e-2)
        assert got["new"]["audio"]["max"] == pytest.approx(new.max(), rel=1e-2)
        assert new.mean() <= 1e-3  # the default init: at most 0.1% of the mass
        assert pad.max() == 0.0 and got["padding"]["max"] == 0.0  # fp32 underflow, every position
        assert got["padding"]["nonzero_positions"] == 0
        assert got["positions"] == len(new)
        for a, b in zip(old_ref[label][2], logits):
            np.testing.assert_array_equal(a, b[:, :n_old])  # old ids: bit-identical
    gen = json.loads((out / "generation_config.json").read_text())
    assert gen["suppress_tokens"] == pad_ids.tolist()


@pytest.mark.models
def test_smollm2_default_init_mass_and_padding(smollm2_dir, tmp_path):
    _check_model(smollm2_dir, tmp_path)


@pytest.mark.slow
@pytest.mark.models
def test_gemma3_default_init_mass_and_padding(tmp_path):
    from zett.cli.main import main

    src = tmp_path / "src"
    assert main(["convert", "gemma3", str(src)]) == 0
    _check_model(src, tmp_path)


def test_cli_reports_mass_and_can_skip_it(tiny_llama_dir, tmp_path, capsys):
    from zett.cli.main import main

    args = ["extend", str(tiny_llama_dir), "--tokens", "<V_{0..9}>", "--pad-to-multiple", "64"]
    assert main([*args[:2], str(tmp_path / "a"), *args[2:]]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out[captured.out.index("{") :])
    assert set(summary["mass"]) == {"en", "de"}
    assert summary["mass"]["en"]["positions"] > 0
    assert "probability on held-out text: en (" in captured.err
    assert main([*args[:2], str(tmp_path / "b"), *args[2:], "--no-mass-report"]) == 0
    captured = capsys.readouterr()
    assert "mass" not in json.loads(captured.out[captured.out.index("{") :])
    assert "probability on held-out text" not in captured.err


def test_no_padding_calibration_never_runs_the_source(
    tiny_llama_dir, tmp_path, capsys, monkeypatch
):
    """--no-padding-calibration (with --no-mass-report: nothing runs a model) gives padding rows the
    mean of the token rows, says so, and still suppresses them in generation_config.json."""
    import zett.extend.pipeline as pipeline
    from zett.checkpoint import iter_tensors
    from zett.cli.main import main

    def refuse(_dir):
        raise AssertionError("the source model was run")

    monkeypatch.setattr(pipeline, "causal_lm", refuse)
    out = tmp_path / "out"
    args = ["extend", str(tiny_llama_dir), str(out), "--tokens", "<V_{0..9}>"]
    flags = ["--pad-to-multiple", "64", "--no-mass-report", "--no-padding-calibration"]
    assert main([*args, *flags]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out[captured.out.index("{") :])
    assert summary["padding"] == {"calibrated": False, "reason": "--no-padding-calibration"}
    assert "padding rows got the mean row: --no-padding-calibration" in captured.err
    old = dict(iter_tensors(tiny_llama_dir))
    new = dict(iter_tensors(out))
    n_old = old["model.embed_tokens.weight"].shape[0]
    gen = json.loads((out / "generation_config.json").read_text())
    pad = np.asarray(gen["suppress_tokens"])
    assert len(pad) > 0 and pad.min() >= n_old + 10
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        if name in old:
            mean = old[name].astype(np.float64).mean(0).astype(old[name].dtype)
            np.testing.assert_array_equal(
                new[name][pad], np.broadcast_to(mean, new[name][pad].shape)
            )
