"""``em.login`` against real servers: what it raises is both the client's error and the seed's
``requests.HTTPError``, and a failed login keeps the previous default connection."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from python_client import default_store, em
from python_client.errors import ConnectionFailed, NoPlumeServer, NotAuthenticated, PlumeError
from tests.auth.support import AUTH_CONFIG
from tests.support.server import PlumeProcess, free_port


def still_logged_in_to(url: str) -> None:
    """The default connection is ``url``'s, and it works."""
    store = default_store()
    assert store.location.rstrip("/") == url
    assert "runs" in store.info()["services"]


def test_a_failed_login_raises_http_errors_and_keeps_the_connection(online: PlumeProcess) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(requests.HTTPError) as refused:
        em.login(f"http://127.0.0.1:{port}", timeout=5)
    assert isinstance(refused.value, ConnectionFailed) and isinstance(refused.value, em.LoginFailed)
    assert refused.value.response is None and str(port) in str(refused.value)
    still_logged_in_to(online.url)
    with pytest.raises(NoPlumeServer) as wrong_path:  # the client's own class catches it as ever
        em.login(f"{online.url}/api")
    assert isinstance(wrong_path.value, requests.HTTPError) and wrong_path.value.code == 400
    still_logged_in_to(online.url)
    em.login(online.url)  # a good login still replaces the default
    still_logged_in_to(online.url)


def test_a_refused_key_is_an_http_error_401(tmp_path: Path, online: PlumeProcess) -> None:
    with PlumeProcess(tmp_path / "auth", config=AUTH_CONFIG) as srv:
        with pytest.raises(requests.HTTPError) as refused:
            em.login(srv.url, api_key="plume_not-a-key")
        error = refused.value
        assert isinstance(error, NotAuthenticated) and isinstance(error, PlumeError) and error.code == 401
        assert "API key" in str(error)
        still_logged_in_to(online.url)
