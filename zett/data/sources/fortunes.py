"""The `fortunes-*` packages (quotations, proverbs, jokes, poems; one document per fortune file).
Out-of-domain evaluation text, never training text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from zett.data.sources.debian import PackageFormat, Page

SOURCE = "fortunes"
_VERSION = 3

# language → package (fortunes-br is Brazilian Portuguese; `fortunes` is English)
PACKAGES = {
    "en": "fortunes",
    "de": "fortunes-de",
    "es": "fortunes-es",
    "it": "fortunes-it",
    "pl": "fortunes-pl",
    "pt": "fortunes-br",
    "ru": "fortunes-ru",
    "zh": "fortunes-zh",
}
_LANG_OF = {p: lang for lang, p in PACKAGES.items()}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_OVERSTRIKE = re.compile(r".\x08")  # `_\bx` underlines, `x\bx` bolds: keep the last character


def default_packages(langs: Iterable[str]) -> list[str]:
    return sorted(PACKAGES[lang] for lang in set(langs) if lang in PACKAGES)


def cookies(text: str) -> list[str]:
    """The fortunes of a fortune file (`%` lines separate them), terminal escapes removed."""
    text = _OVERSTRIKE.sub("", _ANSI.sub("", text))
    return [c.strip() for c in re.split(r"^%\s*$", text, flags=re.M) if c.strip()]


def _pages(root: Path) -> Iterator[Page]:
    lang = _LANG_OF.get(root.name)
    base = root / "usr" / "share" / "games" / "fortunes"
    if lang is None or not base.is_dir():
        return
    for path in sorted(base.rglob("*")):
        # .dat files are indexes; `x.u8` is the UTF-8 twin of `x` (a legacy encoding or a copy)
        if not path.is_file() or path.is_symlink() or path.suffix == ".dat":
            continue
        if not path.stat().st_size:
            continue
        twin = path.with_name(path.name + ".u8")
        if twin.is_file() and not twin.is_symlink() and twin.stat().st_size:
            continue  # the UTF-8 twin is read instead (fortunes-pl's twins are empty, others links)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        yield lang, path.relative_to(base).as_posix().removesuffix(".u8"), cookies(text)


FORMAT = PackageFormat(
    source=SOURCE,
    pages=_pages,
    cache_name=f".zett-{SOURCE}-v{_VERSION}.jsonl",
    default_packages=default_packages,
)
