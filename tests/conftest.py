"""Shared test set-up: CPU-only JAX, the slow-test switch, and fixtures for the packaged real
models."""

from __future__ import annotations

import os
import re

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow", action="store_true", default=False, help="also run @pytest.mark.slow tests"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # selecting them (`-m slow`, `-m "slow and models"`) runs them too, not only --runslow
    selected = re.search(r"(?<!not )\bslow\b", config.getoption("markexpr", "") or "")
    if config.getoption("--runslow") or os.environ.get("ZETT_SLOW") == "1" or selected:
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow, --runslow or ZETT_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A tiny three-language training corpus (jsonl, `text`/`lang`) from the packaged Bibles."""
    import json
    import sqlite3

    from zett import assets

    path = tmp_path_factory.mktemp("corpus") / "bible.jsonl"
    con = sqlite3.connect(assets.bible_db())
    rows = con.execute(
        "select bbName, vText from bible where bbName in ('k','l','v') and bNumber=1 and "
        "cNumber<=4 order by id"
    ).fetchall()
    path.write_text("".join(json.dumps({"text": t, "lang": b}) + "\n" for b, t in rows))
    return path


@pytest.fixture
def full_disk(monkeypatch):
    """full_disk(step): orbax's save of checkpoint `step` leaves a half-written temporary
    directory and fails with ENOSPC (other steps save); full_disk(None): the disk is free again."""
    import errno

    import orbax.checkpoint as ocp

    save = ocp.CheckpointManager.save

    def fill(step: int | None) -> None:
        def failing(self, at, *args, **kwargs):
            if at == step:
                partial = self.directory / f"{at}.orbax-checkpoint-tmp-1234"
                (partial / "params").mkdir(parents=True)
                (partial / "params" / "shard").write_bytes(b"\0" * 100)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return save(self, at, *args, **kwargs)

        monkeypatch.setattr(ocp.CheckpointManager, "save", save if step is None else failing)

    return fill
