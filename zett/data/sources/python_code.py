"""The running interpreter's standard library `.py` files as the code language `py`."""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from zett.data.clean import code_blocks
from zett.data.document import Document
from zett.data.languages import CODE_LANG

SOURCE = "python-code"
_SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__"}
_MAX_FILE_BYTES = 1_000_000  # larger files are generated tables, not code people write


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def iter_documents(lang: str, root: Path | None = None) -> Iterator[Document]:
    """One document per stdlib file; the split unit is the file's top two path components
    (`email/mime`, `json/decoder.py`), so a subpackage and its siblings stay on one side."""
    if lang != CODE_LANG:
        return
    root = stdlib_dir() if root is None else root
    if not root.is_dir():
        raise FileNotFoundError(f"Python standard library not found at {root}")
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]  # prune: site-packages is huge
        paths += [Path(dirpath) / f for f in filenames if f.endswith(".py")]
    for path in sorted(paths):
        if path.stat().st_size > _MAX_FILE_BYTES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # the test suite carries deliberately mis-encoded files
        rel = path.relative_to(root).as_posix()
        blocks = code_blocks(text)
        if blocks:
            unit = "/".join(path.relative_to(root).parts[:2])
            yield Document(
                CODE_LANG,
                SOURCE,
                f"{SOURCE}/{rel}",
                f"{SOURCE}/{unit}",
                tuple(blocks),
                joiner="\n\n",
                code=True,
            )
