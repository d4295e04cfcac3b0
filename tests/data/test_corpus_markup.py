"""Man page and HTML help conversion to plain paragraphs."""

from __future__ import annotations

from zett.data.sources.markup import html_to_paragraphs, man_to_paragraphs

MAN = r""".\" comment line
.TH LS 1 "2022" "GNU coreutils" "User Commands"
.SH NAME
ls \- list directory contents
.SH DESCRIPTION
List information about the FILEs (the current directory by default).
Sort entries \fBalphabetically\fP if none of \fB\-cftuvSUX\fR nor \fB\-\-sort\fR is specified.
.PP
Mandatory arguments \(em to long options \[u00E9]t\['e] are mandatory.
.TP
.BR \-a ", " \-\-all
do not ignore entries starting with .
.nf
example code that is dropped
.fi
.EX
$ ls -la
.EE
Last paragraph.
"""


def test_man_to_paragraphs():
    paras = man_to_paragraphs(MAN)
    assert paras[0] == "NAME"
    assert "ls - list directory contents" in paras
    assert (
        "List information about the FILEs (the current directory by default). Sort entries "
        "alphabetically "
        "if none of -cftuvSUX nor --sort is specified."
    ) in paras
    assert "Mandatory arguments — to long options ét are mandatory." in paras
    assert "-a, --all do not ignore entries starting with ." in paras
    assert not any(
        "example code" in p or "ls -la" in p or "comment" in p or "coreutils" in p for p in paras
    )
    assert paras[-1] == "Last paragraph."


def test_man_redirect_is_empty():
    assert man_to_paragraphs(".so man1/ls.1\n") == []


HTML = """<!DOCTYPE html><html lang="de"><head><title>T</title><script>var x = "no";</script></head>
<body><header><p>LibreOffice Hilfe</p></header><aside><div>Inhalt</div></aside>
<div id="DisplayArea"><h1>Zeichen</h1><p>Erster &amp; Absatz mit <a href="x">Verweis</a>.
<p>Zweiter Absatz<br>neue Zeile</p>
<div class="howtoget"><p>So greifen Sie auf diesen Befehl zu...</p></div>
<pre>code()</pre><ul><li>Eintrag eins</li><li>Eintrag zwei</ul></div></body></html>"""


def test_html_to_paragraphs_skips_chrome_and_code():
    lang, paras = html_to_paragraphs(HTML)
    assert lang == "de"
    assert paras == [
        "Zeichen",
        "Erster & Absatz mit Verweis.",
        "Zweiter Absatz",
        "neue Zeile",
        "Eintrag eins",
        "Eintrag zwei",
    ]
