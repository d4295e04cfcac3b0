"""Hypothesis strategies: Unicode text mixing many scripts (Latin, Cyrillic, Greek, Arabic, Devanagari
+ marks, CJK, emoji)."""

from __future__ import annotations

from hypothesis import strategies as st

RANGES = {
    "latin": (0x0020, 0x024F),
    "greek": (0x0370, 0x03FF),
    "cyrillic": (0x0400, 0x04FF),
    "arabic": (0x0600, 0x06FF),
    "devanagari": (0x0900, 0x097F),  # includes combining vowel signs and virama
    "combining": (0x0300, 0x036F),
    "cjk": (0x4E00, 0x9FFF),
    "hangul": (0xAC00, 0xD7A3),
    "emoji": (0x1F300, 0x1FAFF),
}

_chars = st.one_of(
    *[
        st.characters(min_codepoint=lo, max_codepoint=hi, exclude_categories=("Cs",))
        for lo, hi in RANGES.values()
    ],
    st.sampled_from([" ", " ", "\n", "\t", "\u200d", "\xa0", "ÿ"]),
)

multiscript_text = st.text(_chars, min_size=1, max_size=40)
