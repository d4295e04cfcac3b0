"""Debian documentation source: parsing an unpacked package (tiny fixture), apt failures, a real fetch
(slow)."""

from __future__ import annotations

import gzip
import shutil
import warnings

import pytest

from zett.data import CorpusConfig, build_corpus
from zett.data.sources import debian

DE_PARAS = [
    "Die Einträge werden alphabetisch sortiert, falls keine der Optionen angegeben wurde.",
    "Diese Option legt fest, wie lange der Dienst auf eine Antwort des Servers wartet.",
]
MAN_DE = ".TH FOO 1\n.SH BESCHREIBUNG\n" + "\n.PP\n".join(DE_PARAS) + "\n.SH SIEHE AUCH\nbar(1)\n"
HELP = """<html lang="{lang}"><body><header><p>LibreOffice Help header text that is long enough</p></header>
<div id="DisplayArea"><h1>Titel</h1><p>{p1}</p><p>{p2}</p>
<p>Specifies that the support for this is not complete, but it covers the common usage.</p></div></body></html>"""


def _fake_package(cache, name: str, files: dict[str, bytes]) -> None:
    root = cache / name
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / ".zett-complete").write_text("fixture\n")  # looks fetched: no apt needed


@pytest.fixture
def cache(tmp_path):
    c = tmp_path / "cache"
    _fake_package(
        c,
        "manpages-de",
        {
            "usr/share/man/de/man1/foo.1.gz": gzip.compress(MAN_DE.encode()),
            "usr/share/man/de/man1/bar.1.gz": gzip.compress(b".so man1/foo.1\n"),
            "usr/share/man/zh_TW/man1/foo.1.gz": gzip.compress(
                ".TH FOO 1\n繁體中文的說明文字，這是一段足夠長的段落。\n".encode()
            ),
        },
    )
    _fake_package(
        c,
        "libreoffice-help-de",
        {
            "usr/share/libreoffice/help/de/text/a.html": HELP.format(
                lang="de",
                p1=DE_PARAS[0],
                p2="Der Text wird ohne Formatierung in das Dokument eingefügt.",
            ).encode(),
            "usr/share/doc/libreoffice-help-de/x.html": b"<p>ignored documentation of the package "
            b"itself</p>",
        },
    )
    return c


def test_documents_from_unpacked_packages(cache):
    docs = debian.DebianDocs(["libreoffice-help-de", "manpages-de"], ["de", "zh"], cache)
    de = docs.documents("de")
    assert docs.documents("zh") == []  # zh_TW is not Simplified Chinese
    by_id = {d.doc_id: d for d in de}
    assert set(by_id) == {
        "debian-docs/libreoffice-help-de/libreoffice/help/text/a.html",
        "debian-docs/manpages-de/man/foo.1",
    }
    help_doc = by_id["debian-docs/libreoffice-help-de/libreoffice/help/text/a.html"]
    # the header (chrome), the short title and the untranslated English paragraph are gone
    assert help_doc.segments == (
        DE_PARAS[0],
        "Der Text wird ohne Formatierung in das Dokument eingefügt.",
    )
    # the help page came first (sorted packages): its copy of a paragraph is dropped from the man
    # page
    assert by_id["debian-docs/manpages-de/man/foo.1"].segments == (DE_PARAS[1],)
    assert by_id["debian-docs/manpages-de/man/foo.1"].unit == "debian-docs/man/foo.1"
    assert list((cache / "manpages-de").glob(".zett-pages-v*.jsonl"))  # parsed once, cached


def test_missing_package_is_a_clear_error(tmp_path):
    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache not available")
    with pytest.raises(
        debian.PackageNotFoundError, match="'zett-no-such-package' is unknown to apt"
    ):
        debian.fetch_package("zett-no-such-package", tmp_path)
    with pytest.raises(debian.PackageNotFoundError, match="not a Debian package name"):
        CorpusConfig(debian_packages=("Bad Name!",))


def test_build_skips_debian_docs_without_apt(tmp_path, monkeypatch):
    monkeypatch.setattr(debian.shutil, "which", lambda tool: None)
    config = CorpusConfig(
        langs=("ru",),
        sources=("bible", "debian-docs"),
        max_chars_per_lang=5_000,
        cache_dir=str(tmp_path / "empty-cache"),
    )
    with pytest.warns(UserWarning) as caught:
        manifest = build_corpus(tmp_path / "out", config)
    messages = [str(w.message) for w in caught]
    assert any(
        "skipping Debian package libreoffice-help-ru: apt-get not found" in m for m in messages
    )
    assert any("skipped 2 package(s): libreoffice-help-ru, manpages-ru" in m for m in messages)
    assert set(manifest["languages"]["ru"]["splits"]["train"]["sources"]) == {"bible"}
    # packages the user names explicitly must be had: no silent skip
    explicit = CorpusConfig(**{**config.__dict__, "debian_packages": ("manpages-ru",)})
    with pytest.raises(debian.AptUnavailableError, match="apt-get not found"):
        build_corpus(tmp_path / "out2", explicit)


def test_build_mixes_bible_and_debian_docs(cache, tmp_path):
    config = CorpusConfig(
        langs=("de",),
        sources=("bible", "debian-docs"),
        max_chars_per_lang=50_000,
        heldout_fraction=0.3,
        debian_packages=("libreoffice-help-de", "manpages-de"),
        cache_dir=str(cache),
        min_passage_chars=50,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing skipped
        manifest = build_corpus(tmp_path / "out", config)
    sources = {
        **manifest["languages"]["de"]["splits"]["train"]["sources"],
        **manifest["languages"]["de"]["splits"]["heldout"]["sources"],
    }
    assert set(sources) == {"bible", "debian-docs"}


@pytest.mark.slow
def test_real_apt_fetch(tmp_path):
    """Downloads manpages-id (~110 KB) with apt-get and parses it (needs network to the Debian
    mirror)."""
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get not available")
    root = debian.fetch_package("manpages-id", tmp_path)
    assert (root / ".zett-complete").is_file()
    docs = debian.DebianDocs(["manpages-id"], ["id"], tmp_path).documents("id")
    assert len(docs) > 10
    assert sum(d.chars for d in docs) > 20_000
