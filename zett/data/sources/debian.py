"""Debian documentation packages (man pages, LibreOffice/GIMP help) fetched with apt without
installing."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from zett.checkpoint.atomic import atomic_dir, scratch_dir, write_atomic
from zett.data.clean import content_hash, normalize_text
from zett.data.document import Document
from zett.data.languages import LANGUAGES, get_language, looks_like
from zett.data.sources.markup import html_to_paragraphs, man_to_paragraphs

SOURCE = "debian-docs"

_MAN = ("de", "fr", "ja", "ru", "es", "it", "pl", "uk", "vi", "tr", "id", "ro")
_LIBREOFFICE = ("de", "fr", "es", "it", "pt", "ru", "ja", "ko", "hi", "pl", "tr", "vi", "id")
# language → Debian packages fetched by default (bookworm names; all are architecture `all`)
DEFAULT_PACKAGES: dict[str, tuple[str, ...]] = defaultdict(tuple)
for _l in _MAN:
    DEFAULT_PACKAGES[_l] += (f"manpages-{_l}",)
for _l in _LIBREOFFICE:
    DEFAULT_PACKAGES[_l] += (f"libreoffice-help-{_l}",)
DEFAULT_PACKAGES["zh"] += ("manpages-zh", "libreoffice-help-zh-cn")
DEFAULT_PACKAGES["pt"] += ("manpages-pt-br",)
DEFAULT_PACKAGES["en"] += ("libreoffice-help-en-us",)

MIN_PARAGRAPH_BYTES = 40  # headings, option tags and menu labels are shorter


class AptUnavailableError(RuntimeError):
    """apt/dpkg cannot fetch packages here (not a Debian system, or no network)."""


class PackageNotFoundError(ValueError):
    """apt does not know a requested package."""


def default_cache_dir() -> Path:
    base = os.environ.get("ZETT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "zett")
    return Path(base) / "debian"


def default_packages(langs: Iterable[str]) -> list[str]:
    return sorted({p for lang in langs for p in DEFAULT_PACKAGES.get(lang, ())})


def normalize_locale(locale: str) -> str | None:
    """`pt_BR.UTF-8` → `pt`, `zh-CN` → `zh`, `en-US` → `en`; Traditional Chinese and unknown → None."""
    loc = locale.split(".")[0].replace("-", "_")
    lang, _, region = loc.partition("_")
    lang = lang.lower()
    if lang == "zh" and region.upper() not in ("", "CN", "SG", "HANS"):
        return None  # zh here means Simplified (the Bible's CVS); Traditional would be a second language
    return lang if lang in LANGUAGES else None


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def fetch_package(package: str, cache_dir: Path | None = None) -> Path:
    """Downloads and unpacks `package` into `cache_dir/package` once; returns the unpacked root."""
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    root = cache_dir / package
    if (root / ".zett-complete").is_file():
        return root
    for tool in ("apt-get", "apt-cache", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise AptUnavailableError(
                f"{tool} not found: Debian packages cannot be fetched on this system"
            )
    if _run(["apt-cache", "show", "--no-all-versions", package]).returncode != 0:
        raise PackageNotFoundError(
            f"Debian package {package!r} is unknown to apt (check the name with `apt-cache "
            f"search`, "
            "or run `apt-get update`)"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    with scratch_dir(root) as tmp_path:
        os.chmod(tmp_path, 0o755)  # apt's sandbox user must be able to write the .deb here
        got = _run(["apt-get", "download", package], cwd=tmp_path)
        debs = list(tmp_path.glob("*.deb"))
        if got.returncode != 0 or not debs:
            raise AptUnavailableError(
                f"`apt-get download {package}` failed: {got.stderr.strip()[-500:]}"
            )
        # a half-unpacked package is never in place (and never carries the marker)
        with atomic_dir(root, overwrite=True) as unpacked:
            x = _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)])
            if x.returncode != 0:
                raise AptUnavailableError(
                    f"`dpkg-deb -x {debs[0].name}` failed: {x.stderr.strip()[-500:]}"
                )
            (unpacked / ".zett-complete").write_text(debs[0].name + "\n")
    return root


def _man_pages(root: Path) -> Iterator[tuple[str, str, str]]:
    """(lang, unit, text) for every man page under usr/share/man/<locale>/manN/."""
    man = root / "usr" / "share" / "man"
    if not man.is_dir():
        return
    for path in sorted(man.rglob("*")):
        if not path.is_file():
            continue
        parts = path.relative_to(man).parts
        if len(parts) == 2 and parts[0].startswith("man"):
            lang = "en"
        elif len(parts) == 3 and parts[1].startswith("man"):
            lang = normalize_locale(parts[0])
        else:
            continue
        if lang is None:
            continue
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        name = path.name.removesuffix(".gz")
        yield lang, f"man/{name}", raw.decode("utf-8", errors="replace")


def _html_pages(root: Path) -> Iterator[tuple[str, str, str]]:
    """(lang, unit, html) for every help page under usr/share (not doc/); the language is the last
    path component that is a locale (`help/de/text/...`), and the unit is the path without it."""
    share = root / "usr" / "share"
    for path in sorted(share.rglob("*.html")) if share.is_dir() else ():
        rel = path.relative_to(share).parts
        if rel[0] == "doc":
            continue
        locs = [(i, normalize_locale(p)) for i, p in enumerate(rel[:-1])]
        hits = [(i, lang) for i, lang in locs if lang is not None]
        if not hits:
            continue
        i, lang = hits[-1]
        unit = "/".join(rel[:i] + rel[i + 1 :])
        yield lang, unit, path.read_text(encoding="utf-8", errors="replace")


PARSE_VERSION = 1  # bump when the markup converters change: invalidates the per-package page caches

Page = tuple[str, str, list[str]]  # (language, page name, raw paragraphs or code blocks)


def _same(page: str) -> str:
    return page


@dataclass(frozen=True)
class PackageFormat:
    """How one package-backed source reads an unpacked Debian package.

    `pages` yields every page of a package; `cache_name` names its per-package parse cache (put a
    version in it and bump that when the parser changes). A page's split unit is `unit_key` of its
    name (the name itself unless pages are grouped, e.g. Python files by subpackage). Code formats
    keep blocks as they are (no language test, no whitespace collapsing).
    """

    source: str
    pages: Callable[[Path], Iterable[Page]]
    cache_name: str
    default_packages: Callable[[Iterable[str]], list[str]]
    min_bytes: int = MIN_PARAGRAPH_BYTES
    code: bool = False
    legacy_ids: bool = False  # debian-docs ids carry no language (kept: they seed the split order)
    unit_key: Callable[[str], str] = _same

    def doc_id(self, package: str, lang: str, page: str) -> str:
        if self.legacy_ids:
            return f"{self.source}/{package}/{page}"
        return f"{self.source}/{package}/{lang}/{page}"

    def unit(self, page: str) -> str:
        return f"{self.source}/{self.unit_key(page)}"

    def unit_of(self, doc_id: str) -> str:
        """The split unit of a document id of this source (from the page name inside it)."""
        parts = doc_id.split("/")
        if parts[0] != self.source or len(parts) < (3 if self.legacy_ids else 4):
            raise ValueError(f"{doc_id!r} is not a document id of source {self.source!r}")
        return self.unit("/".join(parts[2 if self.legacy_ids else 3 :]))


def _manual_pages(root: Path) -> list[Page]:
    pages = [(lang, unit, man_to_paragraphs(text)) for lang, unit, text in _man_pages(root)]
    pages += [(lang, unit, html_to_paragraphs(text)[1]) for lang, unit, text in _html_pages(root)]
    return pages


MANUALS = PackageFormat(
    source=SOURCE,
    pages=_manual_pages,
    cache_name=f".zett-pages-v{PARSE_VERSION}.jsonl",
    default_packages=default_packages,
    legacy_ids=True,
)


def package_pages(root: Path, fmt: PackageFormat = MANUALS) -> list[Page]:
    """The pages of an unpacked package, cached next to it (parsing is the slow part of a build;
    the cache makes rebuilds with other settings cheap)."""
    cache = root / fmt.cache_name
    if cache.is_file():
        with open(cache, encoding="utf-8") as f:
            return [tuple(json.loads(line)) for line in f]
    pages = [(lang, unit, list(paras)) for lang, unit, paras in fmt.pages(root)]
    write_atomic(cache, (json.dumps(page, ensure_ascii=False) + "\n" for page in pages))
    return pages


class DebianDocs:
    """Documents of one package-backed source from a set of Debian packages, parsed once and handed
    out per language.

    Text paragraphs are cleaned (NFC, whitespace), dropped when short, undecodable, in the wrong
    script or untranslated English, and dropped when already seen in the same language (help
    pages repeat notes and menus verbatim: exact paragraph dedup removes that boilerplate). Code
    blocks are only deduplicated (licence headers repeat in every file).
    """

    def __init__(
        self,
        packages: Iterable[str],
        langs: Iterable[str],
        cache_dir: Path | None = None,
        strict: bool = True,
        fmt: PackageFormat = MANUALS,
    ):
        self.packages = list(packages)
        self.langs = set(langs)
        self.cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
        self.strict = strict  # False: a package that cannot be had is skipped with a warning
        self.fmt = fmt
        self.skipped: list[str] = []
        self.debs: list[str] = []  # the .deb files (name_version_arch) the documents came from
        self._docs: dict[str, list[Document]] | None = None

    def documents(self, lang: str) -> list[Document]:
        if self._docs is None:
            self._docs = self._parse()
        return self._docs.get(lang, [])

    def _fetch(self) -> list[tuple[str, Path]]:
        roots = []
        apt_error: AptUnavailableError | None = None
        for pkg in tqdm(self.packages, desc=f"fetch {self.fmt.source}"):
            if apt_error is not None and not (self.cache_dir / pkg / ".zett-complete").is_file():
                self.skipped.append(pkg)  # apt already failed: only cached packages can be had
                continue
            try:
                root = fetch_package(pkg, self.cache_dir)
                roots.append((pkg, root))
                self.debs.append((root / ".zett-complete").read_text().strip())
            except (AptUnavailableError, PackageNotFoundError) as e:
                if self.strict:
                    raise
                if isinstance(e, AptUnavailableError):
                    apt_error = e
                self.skipped.append(pkg)
                warnings.warn(f"skipping Debian package {pkg}: {e}", stacklevel=2)
        return roots

    def _clean(self, lang: str, paragraphs: list[str], seen: set[bytes]) -> list[str]:
        language = get_language(lang)
        segments = []
        for para in paragraphs:
            if not self.fmt.code:
                para = normalize_text(para, language.spaced)
                if len(para.encode("utf-8")) < self.fmt.min_bytes or "\ufffd" in para:
                    continue
                if not looks_like(para, language):
                    continue
            h = content_hash(para)
            if h in seen:
                continue
            seen.add(h)
            segments.append(para)
        return segments

    def _parse(self) -> dict[str, list[Document]]:
        roots = self._fetch()
        docs: dict[str, list[Document]] = defaultdict(list)
        seen: dict[str, set[bytes]] = defaultdict(set)
        for pkg, root in tqdm(roots, desc=f"parse {self.fmt.source}"):
            for lang, page, paragraphs in package_pages(root, self.fmt):
                if lang not in self.langs:
                    continue
                segments = self._clean(lang, paragraphs, seen[lang])
                if segments:
                    docs[lang].append(
                        Document(
                            lang,
                            self.fmt.source,
                            self.fmt.doc_id(pkg, lang, page),
                            self.fmt.unit(page),
                            tuple(segments),
                            joiner="\n\n" if self.fmt.code else "\n",
                            code=self.fmt.code,
                        )
                    )
        return docs


def check_package_names(packages: Iterable[str]) -> None:
    """Raises PackageNotFoundError for a name that is not a valid Debian package name at all."""
    for p in packages:
        if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", p):
            raise PackageNotFoundError(f"{p!r} is not a Debian package name")
