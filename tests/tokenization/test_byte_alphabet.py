"""The byte alphabet is GPT-2's and converts losslessly in both directions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tokenizers import pre_tokenizers

from zett.tokenization import (
    BYTE_TO_CHAR,
    CHAR_TO_BYTE,
    TokenizerError,
    from_canonical,
    to_canonical,
)


def test_alphabet_is_gpt2_bytes_to_unicode():
    assert len(BYTE_TO_CHAR) == 256 and len(set(BYTE_TO_CHAR)) == 256
    assert set(BYTE_TO_CHAR) == set(pre_tokenizers.ByteLevel.alphabet())
    # the byte-level pre-tokenizer spells every byte the same way
    encoded = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False).pre_tokenize_str(
        bytes(range(128)).decode()
    )
    assert encoded[0][0] == to_canonical(bytes(range(128)))
    assert (
        BYTE_TO_CHAR[ord(" ")] == "Ġ"
        and BYTE_TO_CHAR[ord("\n")] == "Ċ"
        and BYTE_TO_CHAR[0xFF] == "ÿ"
    )
    assert all(CHAR_TO_BYTE[c] == b for b, c in enumerate(BYTE_TO_CHAR))


def test_all_bytes_round_trip():
    b = bytes(range(256))
    assert from_canonical(to_canonical(b)) == b
    assert to_canonical("é".encode()) == "Ã©"


@given(st.binary(max_size=64))
def test_round_trip_any_bytes(b):
    s = to_canonical(b)
    assert len(s) == len(b) and from_canonical(s) == b


def test_foreign_character_is_named():
    with pytest.raises(TokenizerError, match="U\\+2581"):
        from_canonical("ab▁c")
