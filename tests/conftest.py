"""Shared test set-up: CPU-only JAX, the slow-test switch, and fixtures for the packaged real models."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run @pytest.mark.slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow") or os.environ.get("ZETT_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow or ZETT_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
