"""Language registry and the script/English test."""

from __future__ import annotations

import pytest

from zett.data.languages import LANGUAGES, get_language, looks_like, script_fraction


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown language 'xx'.*known: .*de"):
        get_language("xx")


def test_script_fraction():
    assert script_fraction("Привет мир", ("Cyrillic",)) == 1.0
    assert script_fraction("Привет world", ("Cyrillic",)) == pytest.approx(6 / 11)
    assert script_fraction("12345 !!", ("Latin",)) == 0.0
    assert script_fraction("日本語のテキスト", ("Han", "Kana")) == 1.0


def test_looks_like_rejects_wrong_script_and_untranslated_english():
    hi, de, en = LANGUAGES["hi"], LANGUAGES["de"], LANGUAGES["en"]
    english = "Specifies that the support for this is not complete, but it covers the common usage of the statement."
    assert looks_like(english, en)
    assert not looks_like(english, hi)
    assert not looks_like(english, de)
    assert looks_like(
        "Die Einträge werden alphabetisch sortiert, falls keine Option angegeben wurde.", de
    )
    assert looks_like("पंक्ति क्रमांकन गुणों को सेट करता है.", hi)
