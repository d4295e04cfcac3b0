"""The Bible translation table is defined once (zett.data.sources.bible) and the sampler uses it."""

from __future__ import annotations

import sqlite3

from zett import assets
from zett.data.sources.bible import PER_LANGUAGE, TRANSLATIONS
from zett.sampling import BibleTexts


def test_one_translation_per_language_covers_every_bible_language():
    langs = [TRANSLATIONS[code][0] for code in PER_LANGUAGE]
    assert len(langs) == len(set(langs))
    assert set(langs) == {lang for lang, _ in TRANSLATIONS.values()}


def test_every_table_code_is_a_bible_in_the_database():
    con = sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True)
    try:
        codes = {row[0] for row in con.execute("SELECT DISTINCT bbName FROM bible")}
    finally:
        con.close()
    assert set(TRANSLATIONS) <= codes


def test_sampler_languages_follow_the_table():
    texts = BibleTexts(bibles=("s", "y", "k"))
    assert texts.languages == ("de", "ar", "en")
