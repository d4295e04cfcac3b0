"""`load_texts`: one `datasets.Dataset` of texts with language ids from a built corpus, files, or a hub
id."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datasets

MANIFEST = "manifest.json"
_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".txt": "text"}


def read_manifest(corpus_dir: str | os.PathLike) -> dict:
    """The manifest of a corpus built by `zett data build`."""
    path = Path(corpus_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: {corpus_dir} is not a corpus built by `zett data build`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def corpus_files(
    corpus_dir: str | os.PathLike, split: str = "train", langs: list[str] | None = None
) -> list[Path]:
    """The JSONL files of `split` for `langs` (all languages when None) in a built corpus."""
    manifest = read_manifest(corpus_dir)
    available = manifest["languages"]
    langs = list(available) if langs is None else list(langs)
    missing = [lang for lang in langs if lang not in available]
    if missing:
        textless = [lang for lang in missing if lang in manifest.get("missing_languages", ())]
        raise ValueError(
            f"language(s) {missing} not in corpus {corpus_dir}; it has: {', '.join(available)}"
            + (f" (its sources had too little text for {textless})" if textless else "")
        )
    files = []
    for lang in langs:
        splits = available[lang]["splits"]
        if split not in splits:
            raise ValueError(
                f"split {split!r} not in corpus {corpus_dir}; it has: {', '.join(splits)}"
            )
        files.append(Path(corpus_dir) / splits[split]["file"])
    return files


def _with_lang(
    ds: datasets.Dataset, langs: list[str] | None, default: str | None, source: str
) -> datasets.Dataset:
    if "lang" in ds.column_names:
        return ds.filter(lambda r: r["lang"] in langs) if langs else ds
    if langs and len(langs) > 1:
        raise ValueError(
            f"{source} has no 'lang' column, so it cannot be filtered to several languages {langs}"
        )
    lang = langs[0] if langs else (default or "und")
    return ds.add_column("lang", [lang] * len(ds))


def load_texts(
    path_or_hub_id: str | os.PathLike,
    split: str = "train",
    langs: list[str] | tuple[str, ...] | None = None,
    *,
    name: str | None = None,
    text_column: str = "text",
) -> datasets.Dataset:
    """Texts with their language ids as a `datasets.Dataset` with columns `text` and `lang` (plus
    `source`, `doc` for built corpora).

    `path_or_hub_id` is a corpus directory from `zett data build` (split `train` or `heldout`), a
    `.jsonl`/`.json`/`.parquet`/`.txt` file, or a hub dataset id (`name` is its config, `split` its
    split; a single entry in `langs` labels a dataset without a `lang` column).
    """
    import datasets  # seconds to import: only reading texts needs it, not `zett --help`

    langs = list(langs) if langs is not None else None
    path = Path(path_or_hub_id)
    if path.is_dir() and (path / MANIFEST).is_file():
        files = corpus_files(path, split, langs)
        return datasets.load_dataset("json", data_files=[str(f) for f in files], split="train")
    if path.is_dir():
        raise FileNotFoundError(
            f"{path} has no {MANIFEST}: not a corpus built by `zett data build` (or unfinished)"
        )
    if path.suffix in _FILE_BUILDERS:
        if not path.is_file():
            raise FileNotFoundError(f"text file not found: {path}")
        ds = datasets.load_dataset(_FILE_BUILDERS[path.suffix], data_files=str(path), split="train")
        return _with_lang(_text_column(ds, text_column, str(path)), langs, None, str(path))
    hub_id = str(path_or_hub_id)
    if hub_id.startswith((".", "/", "~")) or hub_id.count("/") > 1:
        raise FileNotFoundError(f"no corpus or text file at {hub_id}")
    try:
        ds = datasets.load_dataset(hub_id, name, split=split)
    except (
        Exception
    ) as e:  # datasets raises many types for "hub unreachable"; keep the cause visible
        offline = (
            os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
        )
        raise FileNotFoundError(
            f"could not load {hub_id!r} (split {split!r}) from the Hugging Face hub"
            + (
                " — the hub is disabled here (HF_HUB_OFFLINE=1)"
                if offline
                else " — offline or no such dataset?"
            )
            + f"; it is not a local path either. Build an offline corpus with `zett data build "
            f"--out DIR`. "
            f"Cause: {type(e).__name__}: {e}"
        ) from e
    return _with_lang(_text_column(ds, text_column, hub_id), langs, name, hub_id)


def _text_column(ds: datasets.Dataset, text_column: str, source: str) -> datasets.Dataset:
    if text_column not in ds.column_names:
        raise ValueError(f"{source} has no column {text_column!r}; columns: {ds.column_names}")
    return ds if text_column == "text" else ds.rename_column(text_column, "text")
