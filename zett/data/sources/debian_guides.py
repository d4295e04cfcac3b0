"""Debian's books (the Debian Administrator's Handbook, the Debian Reference, the Debian FAQ, the
Developer's Reference) as documents: one per chapter page and translation. Out-of-domain evaluation
text, never training text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from zett.data.sources.debian import PackageFormat, Page, normalize_locale
from zett.data.sources.markup import html_to_paragraphs

SOURCE = "debian-guides"
_VERSION = 1  # bump when the parser changes: invalidates the per-package page caches

# language → packages; debian-handbook carries all its translations in one package
_BOOKS = {
    "debian-reference": ("de", "en", "es", "fr", "id", "it", "ja", "pt", "zh-cn"),
    "debian-faq": ("de", "fr", "it", "ja", "ko", "pt", "ru", "zh-cn"),
    "developers-reference": ("de", "fr", "it", "ja", "ru"),
}
_HANDBOOK_LANGS = (
    "ar", "de", "en", "es", "fa", "fr", "id", "it", "ja", "ko", "pl", "pt", "ro", "ru", "tr",
    "vi", "zh",
)  # fmt: skip
# English editions without a language suffix in the package name
_ENGLISH = {"debian-faq", "developers-reference"}


def default_packages(langs: Iterable[str]) -> list[str]:
    langs = set(langs)
    packages = {"debian-handbook"} if langs & set(_HANDBOOK_LANGS) else set()
    for book, locales in _BOOKS.items():
        packages |= {f"{book}-{loc}" for loc in locales if normalize_locale(loc) in langs}
        if "en" in langs and book in _ENGLISH:
            packages.add(book)
    return sorted(packages)


def _book(package: str) -> str:
    for book in (*_BOOKS, "debian-handbook"):
        if package == book or package.startswith(f"{book}-"):
            return book
    return package


def _locate(rel: tuple[str, ...], package: str) -> tuple[str | None, tuple[str, ...]]:
    """(language, path without its locale) of a page: the locale is a path component
    (`html/de-DE/x.html`, `FAQ/de/x.de.html`) or a file-name suffix (`ch01.de.html`)."""
    parts = list(rel)
    stem, _, _ = parts[-1].rpartition(".html")
    name, dot, suffix = stem.rpartition(".")
    lang = None
    if dot and normalize_locale(suffix) is not None:
        lang, parts[-1] = normalize_locale(suffix), f"{name}.html"
    for i in range(len(parts) - 2, -1, -1):
        loc = normalize_locale(parts[i])
        if loc is not None:
            lang = lang or loc
            del parts[i]
            break
    if lang is None and package in _ENGLISH:
        lang = "en"
    return lang, tuple(parts)


def _pages(root: Path) -> Iterator[Page]:
    package = root.name
    book = _book(package)
    share = root / "usr" / "share"
    for path in sorted(share.rglob("*.html")) if share.is_dir() else ():
        if path.is_symlink():  # debian-faq links x.html → x.en.html
            continue
        lang, rest = _locate(path.relative_to(share).parts, package)
        if lang is None:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        yield lang, "/".join((book, rest[-1])), html_to_paragraphs(text)[1]


FORMAT = PackageFormat(
    source=SOURCE,
    pages=_pages,
    cache_name=f".zett-{SOURCE}-v{_VERSION}.jsonl",
    default_packages=default_packages,
)
