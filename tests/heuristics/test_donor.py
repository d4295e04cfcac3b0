"""Donor loading (only the embedding tables) and the target-id → donor-row map."""

import numpy as np
import pytest

from zett import assets
from zett.heuristics.donor import Donor, donor_rows, load_donor
from zett.tokenization import CanonicalVocab, SpecialToken, canonicalize, load_tokenizer
from zett.tokenization import to_canonical as canon


def q8_0_rows(raw: np.ndarray) -> np.ndarray:
    """GGML Q8_0 decoded by hand: blocks of 32 values, each a float16 scale + 32 int8 (34 bytes)."""
    blocks = raw.reshape(raw.shape[0], -1, 34)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    return (scale * blocks[:, :, 2:].copy().view(np.int8)).reshape(raw.shape[0], -1)


def test_loads_a_gguf_donors_embedding_table():
    from zett.checkpoint.gguf_file import GGUFFile

    donor = load_donor("smollm2")
    f = GGUFFile(assets.smollm2_gguf())
    assert f.tensors["token_embd.weight"].qtype == 8  # Q8_0
    np.testing.assert_array_equal(donor.input_embeddings, q8_0_rows(f.raw("token_embd.weight")))
    assert donor.input_embeddings.shape == (49152, 576)
    assert donor.output_embeddings is None  # tied
    assert donor.vocab == canonicalize(load_tokenizer(assets.smollm2_gguf()))


def test_loads_a_hugging_face_directory():
    from safetensors.numpy import load_file

    donor = load_donor("minilm")
    tensors = load_file(str(assets.minilm_dir() / "model.safetensors"))
    (name,) = [n for n in tensors if n.endswith("word_embeddings.weight")]
    np.testing.assert_array_equal(donor.input_embeddings, tensors[name])
    assert donor.output_embeddings is None and donor.vocab.size == 30522


def test_bad_donor_specs():
    with pytest.raises(ValueError, match="no such"):
        load_donor("/nonexistent/model.gguf")
    with pytest.raises(ValueError, match="gguf"):
        load_donor(str(assets.bible_db()))


def test_donor_rows_by_bytes_and_specials():
    target = CanonicalVocab.from_tokens(
        ["", canon(b" a"), canon(b" b"), canon(b" c")], [SpecialToken("eos", "<eos>", 0)]
    )
    assert donor_rows(target, Donor(target, np.zeros((4, 2), np.float32))).tolist() == [0, 1, 2, 3]
    other = CanonicalVocab.from_tokens(
        [canon(b" c"), canon(b" a"), "", canon(b" z")], [SpecialToken("eos", "</s>", 2)]
    )
    rows = donor_rows(target, Donor(other, np.zeros((4, 2), np.float32)))
    assert rows.tolist() == [2, 1, -1, 0]  # eos by role, " b" missing
