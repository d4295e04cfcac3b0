"""The standard libraries of Go and Rust, from Debian's `golang-1.19-src` and `rust-src`, as the code
languages `go` and `rs`: training code beside the Python standard library."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from zett.data.clean import code_blocks
from zett.data.sources.debian import PackageFormat, Page

_VERSION = 1
_MAX_FILE_BYTES = 1_000_000  # larger files are generated tables


def _code_pages(base: str, suffix: str, lang: str) -> Callable[[Path], Iterator[Page]]:
    def pages(root: Path) -> Iterator[Page]:
        """One page per source file under `base`, named by its path there; test data skipped."""
        top = root / base
        for path in sorted(top.rglob(f"*{suffix}")) if top.is_dir() else ():
            rel = path.relative_to(top)
            if "testdata" in rel.parts or path.is_symlink():
                continue
            if path.stat().st_size > _MAX_FILE_BYTES:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            blocks = code_blocks(text)
            if blocks:
                yield lang, rel.as_posix(), blocks

    return pages


def _packages(lang: str, package: str) -> Callable[[Iterable[str]], list[str]]:
    return lambda langs: [package] if lang in set(langs) else []


def _top(n: int) -> Callable[[str], str]:
    return lambda page: "/".join(page.split("/")[:n])


GO = PackageFormat(
    source="go-code",
    pages=_code_pages("usr/share/go-1.19/src", ".go", "go"),
    cache_name=f".zett-go-code-v{_VERSION}.jsonl",
    default_packages=_packages("go", "golang-1.19-src"),
    code=True,
    unit_key=_top(2),  # a package directory: `net/http`
)
RUST = PackageFormat(
    source="rust-code",
    pages=_code_pages("usr/src/rustc-1.63.0/library", ".rs", "rs"),
    cache_name=f".zett-rust-code-v{_VERSION}.jsonl",
    default_packages=_packages("rs", "rust-src"),
    code=True,
    unit_key=_top(3),  # a crate's module: `core/src/iter`
)
