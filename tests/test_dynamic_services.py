"""``[services] dynamic``: services made on first use silently ("on", the default), with a WARNING
naming them and the close name they may be a typo of ("warn"), or not at all ("off"), over REST and
socket.io alike. A service that has records, or that the ``allow`` list names, is declared."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from backend.plugins import did_you_mean
from tests.conformance.clients import CallError, SocketClient
from tests.support.inprocess import running

CREATED = "created on first use"


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "backend.plugins" and r.levelno == logging.WARNING]


async def test_default_creates_silently(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        async with http.post(f"{srv.url}/run", json={"a": 1}) as r:
            assert r.status == 201
    assert warnings_of(caplog) == []


async def test_warn_names_each_new_service_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    config = '[services]\ndynamic = "warn"\n'
    async with running(tmp_path, config=config) as srv, aiohttp.ClientSession() as http:
        async with http.post(f"{srv.url}/run", json={"a": 1}) as r:
            assert r.status == 201  # made all the same
        async with http.post(f"{srv.url}/run", json={"a": 2}) as r:
            assert r.status == 201
        sockets = await SocketClient(srv.url).connect()
        try:
            await sockets.call("create", "experiments", {"b": 1})
        finally:
            await sockets.close()
        async with http.get(f"{srv.url}/runs") as r:  # registered by a plugin: nothing to say
            assert r.status == 200
    assert warnings_of(caplog) == ["service 'run' created on first use (did you mean 'runs'?)",
                                   "service 'experiments' created on first use"]
    caplog.clear()
    async with running(tmp_path, config=config) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/run") as r:  # its records are stored: it exists
            assert r.status == 200 and (await r.json())["total"] == 2
    assert warnings_of(caplog) == []


async def test_off_refuses_new_services(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:  # made before "off"
        async with http.post(f"{srv.url}/people", json={"name": "Ann"}) as r:
            assert r.status == 201
    config = '[services]\ndynamic = "off"\n[services.configured]\npaginate = false\n'
    async with running(tmp_path, config=config) as srv, aiohttp.ClientSession() as http:
        async with http.post(f"{srv.url}/peple", json={"name": "Bob"}) as r:
            body = await r.json()
            assert r.status == 404 and body["name"] == "NotFound"
            assert body["message"] == ("Service 'peple' not found (did you mean 'people'?): this server creates "
                                       "no service on first use")
        async with http.get(f"{srv.url}/people") as r:
            assert r.status == 200 and (await r.json())["total"] == 1
        async with http.get(f"{srv.url}/configured") as r:  # a [services.<name>] table declares it
            assert r.status == 200
        sockets = await SocketClient(srv.url).connect()
        try:
            with pytest.raises(CallError) as refused:
                await sockets.call("find", "notes")
            assert refused.value.code == 404
            assert refused.value.payload["message"] == "Service 'notes' not found: this server creates no service " \
                "on first use"
        finally:
            await sockets.close()
        assert "peple" not in srv.app.services and "notes" not in srv.app.services


async def test_off_with_an_allow_list_makes_the_listed_names(tmp_path: Path) -> None:
    config = '[services]\ndynamic = "off"\nallow = ["people"]\n'
    async with running(tmp_path, config=config) as srv, aiohttp.ClientSession() as http:
        async with http.post(f"{srv.url}/people", json={"name": "Ann"}) as r:
            assert r.status == 201
        async with http.post(f"{srv.url}/other", json={}) as r:
            assert r.status == 403


def test_did_you_mean() -> None:
    names = ["runs", "keras-models", "tfjs-models", "_auth_emails", "users"]
    assert did_you_mean("run", names) == " (did you mean 'runs'?)"
    assert did_you_mean("keras-model", names) == " (did you mean 'keras-models'?)"
    assert did_you_mean("experiments", names) == ""
    assert did_you_mean("_auth_email", names) == ""  # internal tables are never suggested
