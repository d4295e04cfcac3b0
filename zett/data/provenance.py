"""The content hash of a built corpus, recomputed from its files: what a trained model records as
"trained on" and what anyone can check a rebuilt corpus against."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from zett.data.build import content_sha256
from zett.data.load import read_manifest


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_sha256(corpus_dir: str | os.PathLike) -> str:
    """SHA-256 of a corpus' split files (see `zett.data.build.content_sha256`), recomputed from
    disk. Raises ValueError if a file no longer matches the hash its manifest recorded; a corpus
    built before hashes were recorded gets its hash computed all the same."""
    manifest = read_manifest(corpus_dir)
    languages = {}
    for lang, entry in manifest["languages"].items():
        splits = {}
        for split, s in entry["splits"].items():
            sha = _file_sha256(Path(corpus_dir) / s["file"])
            if s.get("sha256", sha) != sha:
                raise ValueError(
                    f"{Path(corpus_dir) / s['file']} changed since it was built: SHA-256 {sha}, "
                    f"the manifest says {s['sha256']}"
                )
            splits[split] = {"file": s["file"], "sha256": sha}
        languages[lang] = {"splits": splits}
    total = content_sha256(languages)
    if manifest.get("content_sha256", total) != total:
        raise ValueError(
            f"{corpus_dir}: content hash {total} != manifest's {manifest['content_sha256']}"
        )
    return total


def training_data(corpus_dir: str | os.PathLike, command: str | None = None) -> dict:
    """What a model trained on `corpus_dir` records about its data (e.g. in `hypernet.json`): the
    corpus path, its content hash, seed and purpose, and the command that built it."""
    manifest = read_manifest(corpus_dir)
    return {
        "corpus": str(corpus_dir),
        "content_sha256": corpus_sha256(corpus_dir),
        "purpose": manifest.get("purpose", "train"),
        "seed": manifest["config"]["seed"],
        "command": command,
    }
