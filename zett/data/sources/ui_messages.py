"""Translated user-interface messages: the gettext catalogs (`.mo`) of GNOME and desktop packages,
one document per catalog and language; only sentence-length messages without placeholders or
markup. Out-of-domain evaluation text (another genre than any training source), and the one offline
source of Hindi outside the training families."""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from zett.data.sources.debian import PackageFormat, Page, normalize_locale

SOURCE = "ui-messages"
_VERSION = 1

# packages whose catalogs carry many long translated messages (tooltips, settings descriptions,
# dialogs); all architecture `all`, ~45 MB together
PACKAGES = (
    "abiword-common", "baobab", "brasero-common", "cheese-common", "eog", "epiphany-browser-data",
    "evince-common", "evolution-common", "evolution-data-server-common", "file-roller", "gdm3",
    "gedit-common", "gnome-calculator", "gnome-control-center-data", "gnome-desktop3-data",
    "gnome-disk-utility", "gnome-keyring", "gnome-online-accounts", "gnome-session-common",
    "gnome-settings-daemon-common", "gnome-shell-common", "gnome-software-common",
    "gnome-system-monitor", "gnome-terminal-data", "gnumeric-common", "gsettings-desktop-schemas",
    "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good", "gucharmap", "gvfs-common",
    "libglib2.0-data", "libgtk-3-common", "libgtk-4-common", "libgtk2.0-common", "mutter-common",
    "nautilus-data", "network-manager", "network-manager-gnome", "packagekit", "pidgin-data",
    "rhythmbox-data", "seahorse", "totem-common", "tracker", "transmission-common", "yelp",
    "zenity-common",
)  # fmt: skip
MIN_BYTES = 80  # shorter messages are labels and menu items, not sentences
# printf/Python/shell placeholders: a message with a hole is not running text
_PLACEHOLDER = re.compile(r"%[-#0 +'\d.*$]*[a-zA-Z]|%\(\w+\)|\{[\w.]*\}|\$\{?\w")
_MNEMONIC = re.compile(r"\s*\(_\w\)|_(?=\w)")  # "(_F)" after a translation, "_File"


def default_packages(langs: Iterable[str]) -> list[str]:
    # English is the catalogs' source language: its "translations" (en_GB, ...) are near-copies
    return sorted(PACKAGES) if set(langs) - {"en"} else []


def messages(mo: Path) -> list[str]:
    """The translated messages of a catalog that read as running text, in catalog order."""
    try:
        with open(mo, "rb") as f:
            catalog = gettext.GNUTranslations(f)._catalog
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    out = []
    for key, text in catalog.items():
        if not key or (isinstance(key, tuple) and key[1] != 0):
            continue  # the header entry; plural forms after the first
        if not isinstance(text, str) or "<" in text or _PLACEHOLDER.search(text):
            continue
        text = _MNEMONIC.sub("", text)
        if len(text.encode("utf-8")) >= MIN_BYTES:
            out.append(text)
    return out


def _pages(root: Path) -> Iterator[Page]:
    base = root / "usr" / "share" / "locale"
    if not base.is_dir():
        return
    best: dict[tuple[str, str], tuple[bool, Path]] = {}
    for mo in sorted(base.glob("*/LC_MESSAGES/*.mo")):
        loc = mo.parts[-3]
        lang = normalize_locale(loc)
        if lang is None or lang == "en" or "@" in loc:
            continue
        key, exact = (lang, mo.stem), loc == lang
        # one catalog per language: `pt` over `pt_BR`, `zh_CN` for zh
        if key not in best or (exact and not best[key][0]):
            best[key] = (exact, mo)
    for (lang, domain), (_, mo) in sorted(best.items()):
        yield lang, domain, messages(mo)


FORMAT = PackageFormat(
    source=SOURCE,
    pages=_pages,
    cache_name=f".zett-{SOURCE}-v{_VERSION}.jsonl",
    default_packages=default_packages,
    min_bytes=MIN_BYTES,
)
