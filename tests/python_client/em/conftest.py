"""Fixtures of the em tests: a run folder per test, the client logged in to a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from python_client import em
from tests.support.server import PlumeProcess


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's working directory (runs in ``.em/runs``, artifacts in ``.em/artifacts``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EM_RUN_PARENT_DIR", raising=False)
    monkeypatch.delenv("EM_ARTIFACT_PARENT_DIR", raising=False)
    return tmp_path


@pytest.fixture
def online(plume: PlumeProcess, workdir: Path) -> Iterator[PlumeProcess]:
    """``em.login`` to the module's server for the test."""
    em.login(plume.url)
    yield plume
    em.logout()
