"""Reading and updating the id layout of HF configs, with Gemma-3n's multimodal offsets."""

from __future__ import annotations

import numpy as np
import pytest

from zett.extend.hf_config import read_layout, update_config
from zett.extend.layout import LayoutError, VocabLayout


def gemma3n_config() -> dict:
    """The vocabulary fields of transformers' `Gemma3nConfig()` defaults (configuration_gemma3n.py)."""
    return {
        "model_type": "gemma3n",
        "architectures": ["Gemma3nForConditionalGeneration"],
        "boi_token_id": 255999,
        "eoi_token_id": 262144,
        "image_token_id": 262145,
        "boa_token_id": 256000,
        "eoa_token_id": 262272,
        "audio_token_id": 262273,
        "text_config": {
            "model_type": "gemma3n_text",
            "vocab_size": 262400,
            "vocab_size_per_layer_input": 262144,
            "pad_token_id": 0,
            "eos_token_id": 1,
            "bos_token_id": 2,
        },
        "vision_config": {
            "model_type": "gemma3n_vision",
            "vocab_size": 128,
            "vocab_offset": 262144,
        },
        "audio_config": {"model_type": "gemma3n_audio", "vocab_size": 128, "vocab_offset": 262272},
    }


def test_hand_built_config_matches_transformers_defaults():
    transformers = pytest.importorskip("transformers")
    ref = transformers.Gemma3nConfig().to_dict()
    mine = gemma3n_config()
    for k, v in mine.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                assert ref[k][kk] == vv, (k, kk)
        elif k != "architectures":
            assert ref[k] == v, k


def test_read_gemma3n_layout():
    layout = read_layout(gemma3n_config())
    assert layout == VocabLayout.of(text=262144, vision=128, audio=128)


def test_grow_text_updates_offsets_and_token_ids():
    cfg = gemma3n_config()
    layout = read_layout(cfg)
    new, mapping = layout.grow("text", 8192)
    out = update_config(cfg, new, mapping)
    assert out["text_config"]["vocab_size"] == 262400 + 8192
    assert out["text_config"]["vocab_size_per_layer_input"] == 262144 + 8192
    assert out["vision_config"]["vocab_offset"] == 262144 + 8192
    assert out["audio_config"]["vocab_offset"] == 262272 + 8192
    # ids inside the vision/audio ranges move with them; text ids stay
    assert out["eoi_token_id"] == 262144 + 8192 and out["image_token_id"] == 262145 + 8192
    assert out["eoa_token_id"] == 262272 + 8192 and out["audio_token_id"] == 262273 + 8192
    assert out["boi_token_id"] == 255999 and out["boa_token_id"] == 256000
    assert out["text_config"]["bos_token_id"] == 2
    assert cfg["vision_config"]["vocab_offset"] == 262144  # input not mutated
    assert read_layout(out) == new
    # the appended text ids are below the audio offset, so Gemma-3n's `id >= audio_offset` test
    # (no upper bound) can no longer take them for audio
    new_text = mapping.new_ids["text"]
    assert new_text.max() < out["vision_config"]["vocab_offset"]
    transformers = pytest.importorskip("transformers")
    loaded = transformers.Gemma3nConfig(**{k: v for k, v in out.items() if k != "model_type"})
    assert loaded.audio_config.vocab_offset == 262272 + 8192
    assert loaded.text_config.vocab_size_per_layer_input == 262144 + 8192


def test_appending_after_audio_is_refused_for_gemma3n():
    cfg = gemma3n_config()
    new, mapping = read_layout(cfg).append("extra_text", 10)
    with pytest.raises(LayoutError, match="every id >= audio offset"):
        update_config(cfg, new, mapping)


def test_gemma3n_validation_errors():
    cfg = gemma3n_config()
    cfg["audio_config"]["vocab_offset"] = 262200  # overlaps vision [262144, 262272)
    with pytest.raises(LayoutError, match="overlaps"):
        read_layout(cfg)
    cfg = gemma3n_config()
    cfg["text_config"]["vocab_size_per_layer_input"] = 262000
    with pytest.raises(LayoutError, match="vocab_size_per_layer_input=262000"):
        read_layout(cfg)
    cfg = gemma3n_config()
    cfg["text_config"]["vocab_size"] = 262500
    with pytest.raises(LayoutError, match="not covered"):
        read_layout(cfg)
    cfg = gemma3n_config()
    cfg["audio_token_id"] = 262400
    with pytest.raises(LayoutError, match="audio_token_id=262400 is outside"):
        read_layout(cfg)


def test_text_only_config_with_padding_rows():
    cfg = {
        "model_type": "qwen2",
        "vocab_size": 151936,
        "eos_token_id": [151643, 151645],
        "bos_token_id": 151643,
    }
    layout = read_layout(cfg, tokenizer_size=151665)
    assert layout.names == ("text", "padding") and layout["padding"].size == 271
    new, mapping = layout.grow("text", 1000)
    out = update_config(cfg, new, mapping)
    assert out["vocab_size"] == 152936 and out["eos_token_id"] == [151643, 151645]
    with pytest.raises(LayoutError, match="tokenizer has 151937 tokens"):
        read_layout(cfg, tokenizer_size=151937)
    assert np.array_equal(mapping.old_to_new[:151665], np.arange(151665))
