"""Fixtures for the Python client's tests: real servers on loopback, never mocks.

Sync clients block their thread, so they talk to a ``plume serve`` subprocess (one per module);
async clients use the in-process ``server`` fixture of ``tests/conftest.py``. Tests that run over
both shells (the ``shell`` fixture) use the in-process server too: the sync shell's calls run in a
worker thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.server import PlumeProcess

from .shells import Shell


@pytest.fixture(scope="module")
def plume(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlumeProcess]:
    """A ``plume serve`` subprocess shared by a module's tests (each test uses its own service names)."""
    with PlumeProcess(tmp_path_factory.mktemp("plume")) as srv:
        yield srv


@pytest.fixture
def name() -> str:
    """A service name no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sync", "async"])
def shell(request: pytest.FixtureRequest) -> Shell:
    """Each client shell in turn (``DataStore`` / ``AsyncDataStore``), every call awaitable (see ``shells.py``)."""
    return Shell(request.param)
