"""Dashboard fixtures: one chromium per test module (browsers are slow to start on 2 cores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from .browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium; the test fails (never skips) when it is not installed."""
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go unless ``$PLUME_SCREENSHOTS`` names a folder."""
    return tmp_path_factory.mktemp("screenshots")
