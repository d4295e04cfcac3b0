"""VocabLayout: derived offsets, strict half-open ranges, re-layout mappings, validation of typed
ranges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zett.extend.layout import IdOutOfRangeError, LayoutError, Segment, VocabLayout


def test_offsets_are_derived_from_sizes():
    layout = VocabLayout.of(text=262144, vision=128, audio=128)
    assert [(r.name, r.lo, r.hi) for r in layout.ranges] == [
        ("text", 0, 262144),
        ("vision", 262144, 262272),
        ("audio", 262272, 262400),
    ]
    assert layout.size == 262400
    assert layout.offset("audio") == 262272


def test_ranges_are_half_open():
    layout = VocabLayout.of(text=10, audio=5)
    audio = layout["audio"]
    assert 9 not in audio and 10 in audio and 14 in audio and 15 not in audio
    assert layout.segment_of(9).name == "text" and layout.segment_of(10).name == "audio"
    with pytest.raises(IdOutOfRangeError, match="15"):
        layout.segment_of(15)
    assert layout.segment_index(np.array([-1, 0, 9, 10, 14, 15])).tolist() == [-1, 0, 0, 1, 1, -1]
    assert audio.mask(np.array([9, 10, 15])).tolist() == [False, True, False]


def test_check_and_local_global_conversion():
    layout = VocabLayout.of(text=10, audio=5)
    assert layout.to_global("audio", np.array([0, 4])).tolist() == [10, 14]
    assert layout.to_local("audio", np.array([10, 14])).tolist() == [0, 4]
    with pytest.raises(IdOutOfRangeError, match=r"local id 5 is outside \[0, 5\)"):
        layout.to_global("audio", np.array([5]))
    with pytest.raises(IdOutOfRangeError, match=r"id 15 is outside audio\[10, 15\)"):
        layout.to_local("audio", np.array([12, 15]))
    with pytest.raises(IdOutOfRangeError, match=r"id 9 is outside audio"):
        layout.check(9, "audio")
    layout.check(np.array([0, 14]))
    with pytest.raises(IdOutOfRangeError, match="vocabulary"):
        layout.check(np.array([0, 15]))


def test_grow_text_shifts_later_segments_and_maps_ids():
    layout = VocabLayout.of(text=10, vision=3, audio=2)
    new, mapping = layout.grow("text", 4)
    assert new.offset("vision") == 14 and new.offset("audio") == 17 and new.size == 19
    assert mapping.old_to_new.tolist() == list(range(10)) + [14, 15, 16, 17, 18]
    assert mapping.new_ids["text"].tolist() == [10, 11, 12, 13]
    # an audio id keeps its local index in the audio segment
    assert new.to_local("audio", mapping(layout.to_global("audio", 1))) == 1
    assert not mapping.is_identity_prefix
    with pytest.raises(IdOutOfRangeError):
        mapping(15)


def test_add_segment_goes_before_trailing_padding_and_pad_to_multiple():
    layout = VocabLayout((Segment("text", 100), Segment("padding", 28, reserved=True)))
    new, mapping = layout.add_segment("audio", 8)
    assert new.names == ("text", "audio", "padding")
    assert new["audio"].lo == 100 and mapping(100) == 108
    padded, pad = new.pad_to_multiple(64)
    assert padded.size == 192 and padded.size % 64 == 0
    total = mapping.compose(pad)
    assert total.old_to_new[:100].tolist() == list(range(100))
    assert total.new_ids["audio"].tolist() == list(range(100, 108))
    same, ident = VocabLayout.of(text=128).pad_to_multiple(64)
    assert same.size == 128 and ident.is_identity_prefix


def test_from_ranges_validation():
    ok = VocabLayout.from_ranges({"audio": (10, 15), "text": (0, 10)}, total=15)
    assert ok.names == ("text", "audio")
    with pytest.raises(LayoutError, match="overlaps"):
        VocabLayout.from_ranges({"text": (0, 10), "audio": (9, 15)})
    with pytest.raises(LayoutError, match=r"gap of 2 ids \[10, 12\)"):
        VocabLayout.from_ranges({"text": (0, 10), "audio": (12, 15)})
    gapped = VocabLayout.from_ranges(
        {"text": (0, 10), "audio": (12, 15)}, total=16, allow_gaps=True
    )
    assert gapped["audio"].lo == 12 and gapped.size == 16 and gapped.segments[1].reserved
    with pytest.raises(LayoutError, match="not covered"):
        VocabLayout.from_ranges({"text": (0, 10)}, total=12)
    with pytest.raises(LayoutError, match="only 8 ids"):
        VocabLayout.from_ranges({"text": (0, 10)}, total=8)
    with pytest.raises(LayoutError, match="duplicate"):
        VocabLayout((Segment("text", 1), Segment("text", 2)))
    with pytest.raises(LayoutError, match="invalid"):
        VocabLayout.from_ranges({"text": (5, 2)})


def test_dict_round_trip():
    layout, _ = VocabLayout.of(text=10, audio=5).pad_to_multiple(8)
    assert VocabLayout.from_dict(layout.to_dict()) == layout


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 50), min_size=1, max_size=5),
    which=st.integers(0, 4),
    n=st.integers(0, 30),
)
def test_grow_preserves_every_segment_locally(sizes, which, n):
    layout = VocabLayout.from_sizes([(f"s{i}", s) for i, s in enumerate(sizes)])
    name = layout.names[which % len(sizes)]
    new, mapping = layout.grow(name, n)
    assert new.size == layout.size + n
    assert len(set(mapping.old_to_new.tolist())) == layout.size  # injective
    for r in layout.ranges:
        if r.size:
            local = np.arange(r.size)
            assert (new.to_local(r.name, mapping(layout.to_global(r.name, local))) == local).all()
    assert not set(mapping.new_ids[name].tolist()) & set(mapping.old_to_new.tolist())
