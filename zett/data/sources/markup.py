"""Plain-text paragraphs from man pages (roff) and HTML help pages, with the standard library only."""

from __future__ import annotations

import html
import re

# --- roff ---------------------------------------------------------------------------------------

_NAMED_CHARS = {
    "em": "—",
    "en": "–",
    "hy": "-",
    "lq": "“",
    "rq": "”",
    "oq": "‘",
    "cq": "’",
    "aq": "'",
    "dq": '"',
    "bu": "•",
    "co": "©",
    "rg": "®",
    "tm": "™",
    "de": "°",
    "mu": "×",
    "di": "÷",
    "+-": "±",
    "<=": "≤",
    ">=": "≥",
    "!=": "≠",
    "->": "→",
    "<-": "←",
    "ti": "~",
    "ha": "^",
    "rs": "\\",
    "sl": "/",
    "ba": "|",
    "fo": "«",
    "fc": "»",
    "Fo": "«",
    "Fc": "»",
    "r!": "¡",
    "r?": "¿",
    "ss": "ß",
    "ga": "`",
    "aa": "´",
}
_ROFF_ESCAPE = re.compile(
    r"""\\(?:
        f(?:\[[^\]]*\]|\(..|.)         # font change
      | s[+-]?(?:\d+|\[[^\]]*\]|\(..)  # size change
      | [*n](?:\[[^\]]*\]|\(..|.)      # string / number register
      | \((?P<two>..)                  # two-letter special character
      | \[(?P<long>[^\]]*)\]           # named / unicode special character
      | [hvwlLDXxkoNbzZYVgAHMm]'[^']*'  # drawing/motion/other quoted escapes
      | (?P<one>.)                     # everything else: one character
    )""",
    re.VERBOSE,
)
_ONE_CHAR = {
    "-": "-",
    "e": "\\",
    "\\": "\\",
    " ": " ",
    "~": " ",
    "0": " ",
    "'": "´",
    "`": "`",
    ".": ".",
}
# macros whose arguments are running text (alternating fonts join without spaces)
_FONT_MACROS = {"B", "I", "SM", "SB"}
_ALT_MACROS = {"BR", "RB", "IR", "RI", "BI", "IB"}
_BREAK_MACROS = {
    "PP",
    "P",
    "LP",
    "IP",
    "TP",
    "TQ",
    "HP",
    "br",
    "sp",
    "RS",
    "RE",
    "SH",
    "SS",
    "in",
    "ti",
    "bp",
    "PD",
}
_SKIP_BLOCKS = {"nf": "fi", "EX": "EE", "TS": "TE", "EQ": "EN", "de": "..", "ig": ".."}


def _roff_escape(m: re.Match[str]) -> str:
    if m.group("two") is not None:
        return _NAMED_CHARS.get(m.group("two"), "")
    if m.group("long") is not None:
        name = m.group("long")
        if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,6}", name):
            return chr(int(name[1:], 16))
        return _NAMED_CHARS.get(name, "")
    if m.group("one") is not None:
        return _ONE_CHAR.get(m.group("one"), "")
    return ""


def _roff_args(rest: str) -> list[str]:
    args = re.findall(r'"((?:[^"]|"")*)"|(\S+)', rest)
    return [(quoted.replace('""', '"') if quoted or not bare else bare) for quoted, bare in args]


def man_to_paragraphs(source: str) -> list[str]:
    """Paragraphs of a man page's prose; examples, tables and macro definitions are dropped.

    Returns [] for `.so` redirections (the page is only a pointer to another one).
    """
    paragraphs: list[str] = []
    current: list[str] = []
    end_block: str | None = None

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for raw in source.splitlines():
        line = raw.split('\\"', 1)[0] if '\\"' in raw else raw
        if line.startswith((".", "'")):
            parts = line[1:].strip().split(None, 1)
            name, rest = (parts[0], parts[1] if len(parts) > 1 else "") if parts else ("", "")
            if end_block is not None:
                if name == end_block or (end_block == ".." and line.strip() == ".."):
                    end_block = None
                continue
            if name == "so":
                return []
            if name in _SKIP_BLOCKS:
                flush()
                end_block = _SKIP_BLOCKS[name]
                continue
            if name in _BREAK_MACROS:
                flush()
                if name in ("SH", "SS") and rest:
                    paragraphs.append(
                        " ".join(_roff_args(rest))
                    )  # headings: kept, short ones dropped later
                continue
            if name in _FONT_MACROS:
                current.append(" ".join(_roff_args(rest)))
            elif name in _ALT_MACROS:
                current.append("".join(_roff_args(rest)))
            continue  # any other request (.TH, .if, .ds, .UR, ...) carries no prose
        if end_block is not None:
            continue
        if not line.strip():
            flush()
            continue
        current.append(line)
    flush()
    out = []
    for p in paragraphs:
        text = _ROFF_ESCAPE.sub(_roff_escape, p)
        if text.strip():
            out.append(text)
    return out


# --- HTML ---------------------------------------------------------------------------------------

_BLOCK_TAGS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "td",
    "th",
    "tr",
    "dt",
    "dd",
    "br",
    "table",
    "section",
    "article",
    "blockquote",
    "caption",
    "figcaption",
    "title",
}
_SKIP_TAGS = {
    "script",
    "style",
    "header",
    "footer",
    "aside",
    "nav",
    "noscript",
    "pre",
    "code",
    "title",
    "head",
    "button",
}
_VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
# help-page chrome: "To access this command..." menus, related-topic link lists
_SKIP_CLASSES = ("howtoget", "relatedtopics", "related", "navheader", "navfooter", "toc")


class _TextCollector:
    def __init__(self) -> None:
        self.lang: str | None = None
        self.paragraphs: list[str] = []
        self._parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # open elements: (tag, starts a skipped subtree)
        self._skip_depth = 0

    def _flush(self) -> None:
        text = "".join(self._parts).strip()
        if text:
            self.paragraphs.append(text)
        self._parts.clear()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html" and a.get("lang"):
            self.lang = a["lang"]
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag in _VOID_TAGS:
            return
        classes = (a.get("class") or "").lower()
        skip = tag in _SKIP_TAGS or any(c in classes for c in _SKIP_CLASSES)
        self._stack.append((tag, skip))
        self._skip_depth += skip

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        # unclosed elements (<p>, <li>) are implicitly closed by their parent's end tag
        if any(t == tag for t, _ in self._stack):
            while self._stack:
                t, skip = self._stack.pop()
                self._skip_depth -= skip
                if t == tag:
                    break

    def handle_data(self, data: str) -> None:
        if self._skip_depth == 0:
            self._parts.append(data)


# A tokenizer for machine-written help pages: ~5x faster than html.parser, which dominated build
# time.
_RAW_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<![^>]*>|<\?[^>]*>", re.S | re.I)
_TOKEN = re.compile(r"""<(/?)([a-zA-Z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>|([^<]+|<)""")
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def html_to_paragraphs(source: str) -> tuple[str | None, list[str]]:
    """(the `<html lang>` attribute or None, text paragraphs outside page chrome and code)."""
    collector = _TextCollector()
    for m in _TOKEN.finditer(_RAW_TEXT.sub(" ", source)):
        closing, tag, attrs, text = m.groups()
        if tag is None:
            collector.handle_data(html.unescape(text))
            continue
        tag = tag.lower()
        if closing:
            collector.handle_endtag(tag)
            continue
        pairs = [
            (k.lower(), html.unescape(a if a is not None else b if b is not None else c))
            for k, a, b, c in _ATTR.findall(attrs)
        ]
        collector.handle_starttag(tag, pairs)
        if attrs.rstrip().endswith("/") and tag not in _VOID_TAGS:
            collector.handle_endtag(tag)
    collector._flush()
    return collector.lang, collector.paragraphs
