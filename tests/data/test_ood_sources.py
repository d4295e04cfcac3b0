"""The evaluation-only sources (Debian books, fortunes, UI messages, third-party Python) on tiny
unpacked packages, and the evaluation corpus they build."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from zett.data import CorpusConfig, build_corpus, load_texts
from zett.data.sources import SOURCE_INFO, debian, unit_of

HI_1 = "यह विकल्प तय करता है कि फ़ाइलें खोलने से पहले प्रणाली उपयोगकर्ता से पुष्टि माँगेगी या नहीं।"
HI_2 = "जब यह सक्षम होता है, तो हटाई गई फ़ाइलें सीधे मिटाने के बजाय रद्दी में रखी जाती हैं।"
HI_SHORT = "फ़ाइल खोलें"
HI_HOLE = "फ़ाइल %s को खोला नहीं जा सका क्योंकि अनुमति नहीं दी गई है और प्रक्रिया रुक गई है।"
AR = "يعيد هذا الفصل النظر في بعض القضايا التي ناقشناها سابقاً، لكن من وجهة نظر مختلفة تماماً."
DE_BOOK = "Dieses Kapitel greift noch einmal einige Aspekte auf, die wir bereits beschrieben haben."
DE_FORTUNE = (
    "Wer andern eine Grube gräbt, fällt selbst hinein, sagt ein altes deutsches Sprichwort."
)
DE_FORTUNE_2 = "Morgenstund hat Gold im Mund, und wer früh aufsteht, hat den ganzen Tag für sich."
DE_FORTUNE_3 = (
    "Ein neues Sprichwort, das lang genug ist, um nicht als kurzer Eintrag verworfen zu werden."
)
CODE = 'def greet(name):\n    """Says hello."""\n    return f"hello {name}"\n'
LICENSE = "# Copyright the authors of this package, all rights reserved, see LICENSE\n"


def fake_package(cache: Path, name: str, files: dict[str, bytes]) -> None:
    root = cache / name
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / ".zett-complete").write_text("fixture\n")  # looks fetched: no apt needed


def mo_file(messages: dict[str, str]) -> bytes:
    """A GNU gettext catalog (little-endian, revision 0) with a header entry and `messages`."""
    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **messages}.items())
    ids = [k.encode() for k, _ in entries]
    strs = [v.encode() for _, v in entries]
    n = len(entries)
    header = 7 * 4
    key_table, value_table = header, header + 8 * n
    data_start = value_table + 8 * n
    blob, key_index, value_index = b"", [], []
    for s in ids:
        key_index.append((len(s), data_start + len(blob)))
        blob += s + b"\0"
    for s in strs:
        value_index.append((len(s), data_start + len(blob)))
        blob += s + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, n, key_table, value_table, 0, 0)
    out += b"".join(struct.pack("<2I", *e) for e in key_index)
    out += b"".join(struct.pack("<2I", *e) for e in value_index)
    return out + blob


@pytest.fixture
def cache(tmp_path):
    c = tmp_path / "cache"
    page = "<html><body><div class='navheader'><p>Navigation header long enough to count</p>"
    page += "</div><p>{}</p></body></html>"
    fake_package(
        c,
        "debian-handbook",
        {
            "usr/share/doc/debian-handbook/html/ar-MA/sect.raid.html": page.format(AR).encode(),
            "usr/share/doc/debian-handbook/html/de-DE/sect.raid.html": page.format(
                DE_BOOK
            ).encode(),
            "usr/share/doc/debian-handbook/html/zh-TW/sect.raid.html": page.format(
                "繁體中文的說明文字，這是一段足夠長的段落，用來測試語言的過濾功能。"
            ).encode(),
        },
    )
    fake_package(
        c,
        "debian-reference-de",
        {"usr/share/debian-reference/ch01.de.html": page.format(DE_BOOK + " Zweitens.").encode()},
    )
    fake_package(
        c,
        "fortunes-de",
        {
            "usr/share/games/fortunes/de/sprichworte": f"{DE_FORTUNE}\n%\nZu kurz.\n%\n".encode(),
            "usr/share/games/fortunes/de/sprichworte.dat": b"\x00\x01binary index",
            # a legacy-encoded file and its UTF-8 twin
            "usr/share/games/fortunes/de/alt": DE_FORTUNE_2.encode("latin-1"),
            "usr/share/games/fortunes/de/alt.u8": DE_FORTUNE_2.encode(),
            "usr/share/games/fortunes/de/neu": DE_FORTUNE_3.encode(),
            "usr/share/games/fortunes/de/neu.u8": b"",  # an empty twin (as in fortunes-pl)
        },
    )
    # `x.u8 -> x`: the file is UTF-8 already
    (c / "fortunes-de/usr/share/games/fortunes/de/sprichworte.u8").symlink_to("sprichworte")
    fake_package(
        c,
        "gedit-common",
        {
            "usr/share/locale/hi/LC_MESSAGES/gedit.mo": mo_file(
                {"a": HI_1, "b": "_" + HI_2, "c": HI_SHORT, "d": HI_HOLE}
            ),
            "usr/share/locale/en_GB/LC_MESSAGES/gedit.mo": mo_file({"a": "Colour " * 20}),
        },
    )
    fake_package(
        c,
        "python3-greet",
        {
            "usr/lib/python3/dist-packages/greet/__init__.py": (LICENSE + "\n" + CODE).encode(),
            "usr/lib/python3/dist-packages/greet/util/more.py": (LICENSE + "\nX = 1\n").encode(),
        },
    )
    return c


def _docs(cache, source, packages, langs):
    docs = debian.DebianDocs(packages, langs, cache, fmt=SOURCE_INFO[source].fmt)
    return {lang: docs.documents(lang) for lang in langs}


def test_debian_guides_locale_from_path_or_suffix(cache):
    docs = _docs(cache, "debian-guides", ["debian-handbook", "debian-reference-de"], ["ar", "de"])
    assert [d.segments for d in docs["ar"]] == [(AR,)]  # the navigation header is chrome
    by_id = {d.doc_id: d for d in docs["de"]}
    assert set(by_id) == {
        "debian-guides/debian-handbook/de/debian-handbook/sect.raid.html",
        "debian-guides/debian-reference-de/de/debian-reference/ch01.html",
    }
    assert by_id["debian-guides/debian-handbook/de/debian-handbook/sect.raid.html"].unit == (
        "debian-guides/debian-handbook/sect.raid.html"
    )


def test_fortunes_are_cookies(cache):
    docs = _docs(cache, "fortunes", ["fortunes-de"], ["de"])["de"]
    # the short cookie is dropped, .dat ignored, each file read once, in UTF-8
    assert {d.unit: d.segments for d in docs} == {
        "fortunes/de/alt": (DE_FORTUNE_2,),
        "fortunes/de/neu": (DE_FORTUNE_3,),
        "fortunes/de/sprichworte": (DE_FORTUNE,),
    }


def test_ui_messages_keep_sentences_without_placeholders(cache):
    docs = _docs(cache, "ui-messages", ["gedit-common"], ["hi", "en"])
    assert docs["en"] == []  # English catalogs are copies of the source strings
    (doc,) = docs["hi"]
    assert doc.segments == (HI_1, HI_2)  # mnemonic `_` removed; short and `%s` messages gone
    assert doc.unit == "ui-messages/gedit"


def test_python_packages_blocks_deduplicated(cache):
    (a, b) = _docs(cache, "python-packages", ["python3-greet"], ["py"])["py"]
    assert a.code and a.segments == (LICENSE.strip(), CODE.strip())
    assert b.segments == ("X = 1",)  # the licence header is boilerplate: kept once
    assert b.unit == "python-packages/greet/util"


def test_unit_of_inverts_every_sources_doc_ids(cache):
    from zett.data.sources import bible, python_code

    docs = [next(bible.iter_documents("sw")), next(python_code.iter_documents("py"))]
    for source, pkgs, langs in [
        ("debian-guides", ["debian-handbook", "debian-reference-de"], ["ar", "de"]),
        ("fortunes", ["fortunes-de"], ["de"]),
        ("ui-messages", ["gedit-common"], ["hi"]),
        ("python-packages", ["python3-greet"], ["py"]),
    ]:
        docs += [d for ds in _docs(cache, source, pkgs, langs).values() for d in ds]
    assert len({d.source for d in docs}) == 6
    for d in docs:
        assert unit_of(d.source, d.doc_id) == d.unit


def test_training_and_evaluation_sources_do_not_mix():
    with pytest.raises(ValueError, match=r"\['fortunes'\] cannot go into a 'train' corpus"):
        CorpusConfig(sources=("bible", "fortunes"))
    with pytest.raises(ValueError, match=r"\['bible'\] cannot go into a 'eval' corpus"):
        CorpusConfig(purpose="eval", sources=("bible", "fortunes"))


def test_eval_corpus_has_only_heldout_and_lists_missing_languages(cache, tmp_path):
    config = CorpusConfig(
        purpose="eval",
        langs=("de", "hi", "sw"),
        sources=("debian-guides", "fortunes", "ui-messages"),
        packages={
            "debian-guides": ("debian-handbook", "debian-reference-de"),
            "fortunes": ("fortunes-de",),
            "ui-messages": ("gedit-common",),
        },
        max_heldout_chars_per_lang=10_000,
        cache_dir=str(cache),
        min_passage_chars=20,
    )
    with pytest.warns(UserWarning, match="no text"):
        manifest = build_corpus(tmp_path / "ood", config)
    assert manifest["purpose"] == "eval" and manifest["missing_languages"] == ["sw"]
    # the .deb each source read, as its fetch recorded it (here: the fixture marker)
    assert manifest["debian_packages"]["fortunes"] == ["fixture"]
    with pytest.raises(ValueError, match=r"too little text for \['sw'\]"):
        load_texts(tmp_path / "ood", "heldout", ["de", "sw"])
    assert set(manifest["totals"]) == {"heldout"}
    de = manifest["languages"]["de"]["splits"]
    assert set(de) == {"heldout"}
    assert set(de["heldout"]["sources"]) == {"debian-guides", "fortunes"}
    records = [json.loads(x) for x in (tmp_path / "ood/heldout/de.jsonl").read_text().splitlines()]
    assert {r["text"] for r in records} == {
        DE_BOOK,
        DE_BOOK + " Zweitens.",
        DE_FORTUNE,
        DE_FORTUNE_2,
        DE_FORTUNE_3,
    }
    # the content hash covers every file: recompute it from the bytes on disk
    lines = []
    for lang in ("de", "hi"):
        data = (tmp_path / f"ood/heldout/{lang}.jsonl").read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        assert manifest["languages"][lang]["splits"]["heldout"]["sha256"] == sha
        lines.append(f"heldout/{lang}.jsonl {sha}\n")
    expected = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
    assert manifest["content_sha256"] == expected


def test_eval_budget_is_shared_among_sources(cache, tmp_path):
    from zett.data.build import _select_balanced
    from zett.data.document import Document

    def doc(source, i, n):  # n distinct 100-character segments
        segs = tuple(f"{source} {i} {j} ".ljust(100, "x") for j in range(n))
        return Document("de", source, f"{source}/{i}", f"{source}/{i}", segs)

    small = [doc("fortunes", i, 1) for i in range(2)]  # 200 chars in all
    big = [doc("debian-guides", i, 10) for i in range(10)]
    cfg = CorpusConfig(
        target_passage_chars=100, max_passage_chars=100, min_passage_chars=100, seed=3
    )
    records = _select_balanced(small + big, 1000, cfg)
    chars = {s: sum(len(r["text"]) for r in records if r["source"] == s) for s in ("fortunes",)}
    # fortunes has 200 of its 500 share: debian-guides gets the other 800
    assert chars["fortunes"] == 200
    assert sum(len(r["text"]) for r in records) == 1000
    # with two equally large sources each gets half
    records = _select_balanced(big + [doc("fortunes", i, 10) for i in range(10)], 1000, cfg)
    assert sum(len(r["text"]) for r in records if r["source"] == "fortunes") == 500


def test_cli_builds_an_eval_corpus_from_a_config_file(cache, tmp_path, capsys):
    from zett.cli.main import main

    config = tmp_path / "ood.yaml"
    config.write_text(
        "purpose: eval\nlangs: [de, sw]\nsources: [fortunes]\n"
        "packages: {fortunes: [fortunes-de]}\n"
        f"max_heldout_chars_per_lang: 5000\nmin_passage_chars: 20\ncache_dir: {cache}\n"
    )
    with pytest.warns(UserWarning, match="no text"):
        assert main(["data", "build", "--config", str(config), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "de    Latin      heldout        3         3" in out and "no text for: sw" in out


def test_go_and_rust_standard_libraries(tmp_path):
    cache = tmp_path / "cache"
    fake_package(
        cache,
        "golang-1.19-src",
        {
            "usr/share/go-1.19/src/net/http/server.go": b"package http\n\nfunc Serve() {}\n",
            "usr/share/go-1.19/src/net/http/testdata/x.go": b"package testdata\n",
        },
    )
    fake_package(
        cache,
        "rust-src",
        {"usr/src/rustc-1.63.0/library/core/src/iter/mod.rs": b"pub mod range;\n\nfn f() {}\n"},
    )
    (go,) = _docs(cache, "go-code", ["golang-1.19-src"], ["go"])["go"]
    assert go.segments == ("package http", "func Serve() {}") and go.unit == "go-code/net/http"
    (rs,) = _docs(cache, "rust-code", ["rust-src"], ["rs"])["rs"]
    assert rs.unit == "rust-code/core/src/iter" and rs.code
    for doc in (go, rs):
        assert unit_of(doc.source, doc.doc_id) == doc.unit


@pytest.mark.slow
def test_real_fortunes_package(tmp_path):
    """Downloads fortunes-es (~320 KB) with apt-get and parses it (needs the Debian mirror)."""
    import shutil

    if shutil.which("apt-get") is None:
        pytest.skip("apt-get not available")
    docs = _docs(tmp_path, "fortunes", ["fortunes-es"], ["es"])["es"]
    assert len(docs) >= 16  # one document per fortune file
    assert sum(d.chars for d in docs) > 200_000
