"""An interrupted fine-tuning run resumes exactly: mid-phase and across the phase boundary, the same
losses at every step and the same exported weights, bit for bit."""

import numpy as np
from ft_helpers import config, metrics, weights

from zett.finetune import finetune

KEYS = ("loss", "nll_nats", "bits_per_byte", "grad_norm", "lr", "phase")


def test_resume_mid_phase_and_at_the_boundary_reproduces_losses(tmp_path, tiny_tied, corpus):
    """4 embedding steps, then 4 full steps; checkpoints every 3 and at each phase end."""
    full, cut = tmp_path / "full", tmp_path / "cut"
    data = {"validation_texts": 0}
    assert finetune(config(tiny_tied, corpus, full, data=data), progress=False).step == 8
    cfg = config(tiny_tied, corpus, cut, data=data)
    assert finetune(cfg, max_steps=2, progress=False).out is None  # stopped mid-embeddings
    assert finetune(cfg, max_steps=6, progress=False).out is None  # resumed at 2, past the boundary
    # killed while writing step 6's checkpoint: orbax writes into a temp directory and renames it
    # when complete, so the kill leaves `6.orbax-checkpoint-tmp-*` holding a partial write. The
    # run resumes at the boundary (4) with a fresh optimiser for the full phase, trains 5 and 6
    # again, and never reads the partial one
    partial = cut / "checkpoints" / "6.orbax-checkpoint-tmp-1700000000"
    (cut / "checkpoints" / "6").rename(partial)
    for leaf in list(partial.rglob("*")):
        if leaf.is_file() and leaf.stat().st_size > 64:
            leaf.write_bytes(leaf.read_bytes()[: leaf.stat().st_size // 2])  # truncated shards
    result = finetune(cfg, progress=False)
    assert result.step == 8 and result.out == cut / "model"
    a, b = metrics(full), metrics(cut)
    assert [m["step"] for m in b] == [m["step"] for m in a] == list(range(1, 9))  # each once
    assert [m["phase"] for m in a] == ["embeddings"] * 4 + ["full"] * 4
    for x, y in zip(a, b):
        for key in KEYS:
            assert y[key] == x[key], (x["step"], key)
    wa, wb = weights(full / "model"), weights(cut / "model")
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)


def test_resume_with_another_config_is_refused_but_logging_may_change(tmp_path, tiny_tied, corpus):
    """A workdir's checkpoints belong to one run: resuming them under another learning rate would
    silently continue a different schedule (and overwrite config.yaml with it), so it is an error
    naming the field and both values; how often a run logs or checkpoints is not part of the run."""
    import pytest
    import yaml

    data = {"validation_texts": 0}
    cfg = config(tiny_tied, corpus, tmp_path, data=data)
    finetune(cfg, max_steps=3, progress=False)
    saved = (tmp_path / "config.yaml").read_text()
    other_lr = config(tiny_tied, corpus, tmp_path, ["embeddings.lr=0.1"], data=data)
    with pytest.raises(ValueError, match=r"embeddings\.lr: 0\.03 → 0\.1"):
        finetune(other_lr, progress=False)
    assert (tmp_path / "config.yaml").read_text() == saved  # the record of the run is kept
    quieter = config(tiny_tied, corpus, tmp_path, ["log_every=2", "save_every=5"], data=data)
    assert finetune(quieter, progress=False).step == 8
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["log_every"] == 2
