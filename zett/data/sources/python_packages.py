"""Third-party Python source from Debian `python3-*` packages (Django, SymPy, Twisted, pandas, ...)
as the code language `py`: other projects, authors and domains than the standard library.
Out-of-domain evaluation code, never training text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from zett.data.clean import code_blocks
from zett.data.languages import CODE_LANG
from zett.data.sources.debian import PackageFormat, Page

SOURCE = "python-packages"
_VERSION = 1
# pure-Python libraries that vendor no copy of the standard library (setuptools and pip do)
PACKAGES = (
    "python3-django", "python3-docutils", "python3-networkx", "python3-nltk", "python3-pandas",
    "python3-pygments", "python3-sklearn", "python3-sqlalchemy", "python3-sympy",
    "python3-twisted",
)  # fmt: skip
_MAX_FILE_BYTES = 1_000_000  # larger files are generated tables


def default_packages(langs: Iterable[str]) -> list[str]:
    return sorted(PACKAGES) if CODE_LANG in set(langs) else []


def _subpackage(page: str) -> str:
    """A file's split unit: its top two path components (`django/contrib`), as for the stdlib."""
    return "/".join(page.split("/")[:2])


def _pages(root: Path) -> Iterator[Page]:
    """One page per `.py` file, named by its path under dist-packages."""
    base = root / "usr" / "lib" / "python3" / "dist-packages"
    for path in sorted(base.rglob("*.py")) if base.is_dir() else ():
        if path.is_symlink() or path.stat().st_size > _MAX_FILE_BYTES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(base).as_posix()
        blocks = code_blocks(text)
        if blocks:
            yield CODE_LANG, rel, blocks


FORMAT = PackageFormat(
    source=SOURCE,
    pages=_pages,
    cache_name=f".zett-{SOURCE}-v{_VERSION}.jsonl",
    default_packages=default_packages,
    code=True,
    unit_key=_subpackage,
)
