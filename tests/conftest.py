"""Shared fixtures: real servers on loopback (in-process or as a ``plume serve`` process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.inprocess import Running, running
from tests.support.server import PlumeProcess


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Running]:
    """An in-process server on SQLite under ``tmp_path``."""
    async with running(tmp_path) as srv:
        yield srv


@pytest.fixture
def plume_process(tmp_path: Path) -> Iterator[PlumeProcess]:
    """A ``plume serve`` subprocess on SQLite under ``tmp_path`` (for sync clients and crash tests)."""
    with PlumeProcess(tmp_path / "server") as srv:
        yield srv
