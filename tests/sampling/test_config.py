"""Sampler and collator configs load from YAML/dicts with dotted overrides, and reject bad values."""

from __future__ import annotations

import pytest

from zett.config import ConfigError, load_config, save_config
from zett.sampling import CollatorConfig, SamplerConfig


def test_load_with_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    save_config(CollatorConfig(batch_size=8), path)
    c = load_config(
        CollatorConfig,
        path,
        ["sampler.window=4", "sampler.vocab_size_dist=log_uniform", "n_subsample=null"],
    )
    assert (
        c.batch_size == 8 and c.sampler.window == 4 and c.sampler.vocab_size_dist == "log_uniform"
    )
    assert c.n_subsample is None and c.sampler.noise_median == 1e-5
    assert load_config(SamplerConfig, None, ["vocab_size=16384"]).vocab_size == 16384


def test_bad_values_are_errors():
    with pytest.raises(ConfigError, match="unknown"):
        load_config(SamplerConfig, {"vocab_sise": 3})
    with pytest.raises(ConfigError, match="log_uniform"):
        load_config(SamplerConfig, {"vocab_size_dist": "normal"})
    with pytest.raises(ValueError, match="divide"):
        CollatorConfig(n_streams=3, num_workers=2)
