"""Language registry: codes, writing systems, and the script test that keeps untranslated text out."""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE_LANG = "py"
CODE_SCRIPT = "Code"  # the "script" of programming languages: no language test applies


@dataclass(frozen=True)
class Language:
    """A corpus language: ISO 639-1 code (or `py` for Python code), name and the scripts it is written
    in."""

    code: str
    name: str
    scripts: tuple[str, ...]
    spaced: bool = (
        True  # False: words are not separated by spaces (zh, ja), so segments join with ""
    )

    @property
    def script(self) -> str:
        return "+".join(self.scripts)


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", ("Latin",)),
        Language("de", "German", ("Latin",)),
        Language("fr", "French", ("Latin",)),
        Language("es", "Spanish", ("Latin",)),
        Language("it", "Italian", ("Latin",)),
        Language("pt", "Portuguese", ("Latin",)),
        Language("pl", "Polish", ("Latin",)),
        Language("ro", "Romanian", ("Latin",)),
        Language("tr", "Turkish", ("Latin",)),
        Language("id", "Indonesian", ("Latin",)),
        Language("vi", "Vietnamese", ("Latin",)),
        Language("sw", "Swahili", ("Latin",)),
        Language("tl", "Tagalog", ("Latin",)),
        Language("ru", "Russian", ("Cyrillic",)),
        Language("uk", "Ukrainian", ("Cyrillic",)),
        Language("ar", "Arabic", ("Arabic",)),
        Language("fa", "Persian", ("Arabic",)),
        Language("hi", "Hindi", ("Devanagari",)),
        Language("bn", "Bengali", ("Bengali",)),
        Language("zh", "Chinese (Simplified)", ("Han",), spaced=False),
        Language("ja", "Japanese", ("Han", "Kana"), spaced=False),
        Language("ko", "Korean", ("Hangul",)),
        Language(CODE_LANG, "Python code", (CODE_SCRIPT,)),
        Language("go", "Go code", (CODE_SCRIPT,)),
        Language("rs", "Rust code", (CODE_SCRIPT,)),
    )
}

# Unicode blocks per script; only letters inside one of these count towards the script test.
_SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "Latin": ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)),
    "Cyrillic": ((0x400, 0x52F),),
    "Arabic": ((0x600, 0x6FF), (0x750, 0x77F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    "Devanagari": ((0x900, 0x97F),),
    "Bengali": ((0x980, 0x9FF),),
    "Han": ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)),
    "Kana": ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "Hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF)),
    "Greek": ((0x370, 0x3FF),),
}
_CLASS_CACHE: dict[str, re.Pattern[str]] = {}

# Frequent English words: text in a non-English Latin-script language that is full of them is an
# untranslated paragraph (common in localised help packages).
_ENGLISH_WORDS = frozenset(
    "the and of to is in for you this that with are be can on or by from as if an it not which".split()
)
_WORD = re.compile(r"[^\W\d_]+")


def get_language(code: str) -> Language:
    """The registered language for `code`; a clear error listing the known codes otherwise."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise ValueError(
            f"unknown language {code!r}; known: {', '.join(sorted(LANGUAGES))}"
        ) from None


def _script_class(scripts: tuple[str, ...]) -> re.Pattern[str]:
    key = ",".join(scripts)
    if key not in _CLASS_CACHE:
        ranges = "".join(
            f"\\U{lo:08x}-\\U{hi:08x}" for s in scripts for lo, hi in _SCRIPT_RANGES[s]
        )
        _CLASS_CACHE[key] = re.compile(f"[{ranges}]")
    return _CLASS_CACHE[key]


def script_fraction(text: str, scripts: tuple[str, ...]) -> float:
    """Share of the letters of `text` (letters of any known script) that belong to `scripts`; 0 if
    none.

    Only the first 1000 characters are looked at: this is a language test, and it runs on every
    paragraph."""
    text = text[:1000]
    known = len(_script_class(tuple(_SCRIPT_RANGES)).findall(text))
    if known == 0:
        return 0.0
    return len(_script_class(scripts).findall(text)) / known


def english_fraction(text: str) -> float:
    """Share of the words of `text` that are frequent English function words."""
    words = _WORD.findall(text.lower())
    return sum(w in _ENGLISH_WORDS for w in words) / len(words) if words else 0.0


def looks_like(
    text: str, lang: Language, min_script: float = 0.5, max_english: float = 0.2
) -> bool:
    """Whether `text` plausibly is in `lang`: mostly its script, and (if not English) not English."""
    if lang.scripts == (CODE_SCRIPT,):
        return True
    if script_fraction(text, lang.scripts) < min_script:
        return False
    if lang.code != "en" and "Latin" in lang.scripts and english_fraction(text) > max_english:
        return False
    return True
