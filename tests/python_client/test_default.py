"""The process-wide default connection (python_client.connect / default_store / disconnect)."""

from __future__ import annotations

import pytest

import python_client
from tests.support.server import PlumeProcess


@pytest.fixture(autouse=True)
def no_default() -> None:
    python_client.disconnect()
    yield
    python_client.disconnect()


def test_connect_sets_the_default_used_by_everyone(plume_process: PlumeProcess) -> None:
    store = python_client.connect(plume_process.url)
    assert python_client.default_store() is store
    store.service("people").create({"name": "Ann"})
    again = python_client.connect(plume_process.url)  # replaces (and closes) the previous one
    assert python_client.default_store() is again is not store
    assert [p["name"] for p in again.service("people").find()["data"]] == ["Ann"]


def test_the_default_comes_from_the_environment(plume_process: PlumeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_URL", plume_process.url)
    store = python_client.default_store()
    assert store.location.rstrip("/") == plume_process.url
    assert python_client.default_store() is store  # made once


def test_a_url_without_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="did you mean 'http://localhost:3030'"):
        python_client.connect("localhost:3030")
