"""Fixtures for ``python_client.model``: the module's ``plume serve`` as the default connection, and a
weights cache of each test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import python_client
from python_client import current_run
from python_client.ids import object_id
from python_client.model import OutputModel
from tests.support.server import PlumeProcess


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's weights cache (``$PLUME_CACHE_DIR``)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLUME_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def connected(plume: PlumeProcess, cache: Path) -> Iterator[python_client.DataStore]:
    """The default connection to the module's server; the test's uploads are done when it ends."""
    store = python_client.connect(plume.url)
    yield store
    assert OutputModel.wait_for_uploads(timeout=60), "uploads of the test were left unfinished"
    python_client.disconnect()


@pytest.fixture(autouse=True)
def no_current_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs started by other tests of this process are not this test's current run."""
    monkeypatch.setattr(current_run, "_started", [])


@pytest.fixture
def task() -> str:
    """The id of the run making this test's models: a run the server has not heard of yet (as a
    Writer's, sent in the background), so it serves with the backend down too."""
    return object_id()
