"""The client with authentication on (``backend/auth``): login/logout, API keys, a 401 typed, socket auth.

Async tests run against the in-process auth server of ``tests/auth/support.py``; the sync client
and the Writer run against a ``plume serve`` with auth on and a user made by ``plume users create``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from python_client import AsyncDataStore, DataStore, Remote, Uploader, Writer
from python_client.errors import NotAuthenticated
from tests.auth.support import AUTH_CONFIG, PASSWORD, auth_server
from tests.support.server import REPO, PlumeProcess


async def settle(seen: list[Any], count: int) -> None:
    for _ in range(250):
        if len(seen) >= count:
            return
        await asyncio.sleep(0.02)


async def test_login_logout_and_typed_401(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), AsyncDataStore(srv.url) as store:
        notes = store.service("notes")
        with pytest.raises(NotAuthenticated):
            await notes.create({"text": "anonymous"})
        with pytest.raises(NotAuthenticated):
            await store.login("editora@example.org", "wrong password")
        result = await store.login("editora@example.org", PASSWORD)
        assert result["accessToken"] == store.access_token and store.user["_id"] == actors["editorA"].id
        note = await notes.create({"text": "mine"})
        assert note["userId"] == actors["editorA"].id
        await store.logout()
        assert store.access_token is None
        with pytest.raises(NotAuthenticated):
            await notes.create({"text": "after logout"})


async def test_socket_authentication_decides_which_events_arrive(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, _), AsyncDataStore(srv.url) as a, \
            AsyncDataStore(srv.url) as anonymous:
        await a.login("editora@example.org", PASSWORD)
        mine: list[str] = []
        public: list[str] = []
        await a.service("notes").on("created", lambda note: mine.append(note["text"]))
        await anonymous.service("notes").on("created", lambda note: public.append(note["text"]))
        assert a.realtime.server_auth and a.realtime.auth_error is None
        await a.service("notes").create({"text": "private"})
        await a.service("notes").create({"text": "for all", "public": True})
        await settle(mine, 2)
        await settle(public, 1)
        assert mine == ["private", "for all"] and public == ["for all"]  # anonymous reads public records only
        await a.logout()  # the socket logs out too: A's private records stop reaching it
        async with AsyncDataStore(srv.url) as again:
            await again.login("editora@example.org", PASSWORD)
            await again.service("notes").create({"text": "private 2"})
            await again.service("notes").create({"text": "public 2", "public": True})
        await settle(mine, 3)
        assert mine == ["private", "for all", "public 2"]  # events come in order: "private 2" was not sent


async def test_api_keys_on_rest_and_socket(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), AsyncDataStore(srv.url) as owner:
        await owner.login("editora@example.org", PASSWORD)
        key = (await owner.service("api-keys").create({"name": "training box"}))["key"]
        async with AsyncDataStore(srv.url, api_key=key) as box:
            seen: list[str] = []
            await box.service("notes").on("created", lambda note: seen.append(note["text"]))
            note = await box.service("notes").create({"text": "from the key"})
            assert note["userId"] == actors["editorA"].id
            await settle(seen, 1)
            assert seen == ["from the key"]  # the socket logged in with the api-key strategy
        async with AsyncDataStore(srv.url, api_key="plume_not-a-key") as bad:
            with pytest.raises(NotAuthenticated):
                await bad.service("notes").find()


def test_sync_client_and_writer_with_auth_on(tmp_path: Path) -> None:
    srv = PlumeProcess(tmp_path / "server", config=AUTH_CONFIG)
    assert srv.config_path is not None
    made = subprocess.run(
        [sys.executable, "-m", "backend.cli", "users", "create", "--email", "ada@example.org", "--role", "editor",
         "--config", str(srv.config_path), "--data-dir", str(srv.data_dir)],
        cwd=REPO, env={**os.environ, "PLUME_PASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    with srv, DataStore(srv.url) as store:
        with pytest.raises(NotAuthenticated):
            store.service("runs").create({"basename": "anonymous"})
        store.login("ada@example.org", PASSWORD)
        created = threading.Event()
        store.service("runs").on("created", lambda run: created.set())
        key = store.service("api-keys").create({"name": "writer"})["key"]
        writer = Writer("secure", srv.url, api_key=key, base_log_dir=tmp_path / "logs")
        writer.create_run(run_params={"auth": True})
        writer.train_begin(1)
        writer.save_epoch(1, {"loss": 0.1})
        writer.train_end()
        assert writer.wait_for_uploads(30)
        writer.close()
        assert created.wait(10)
        (run,) = store.service("runs").find()["data"]
        assert run["name"] == "secure-1" and run["status"] == "success" and run["userId"] == store.user["_id"]
        remote = Remote(srv.url, api_key=key)  # a sync finds the run up to date (userId is the server's field)
        assert not Uploader(remote, progress=False).upload(writer.log_folder).changed  # type: ignore[arg-type]
        remote.close()
        store.logout()
        assert store.service("runs").find()["total"] == 0  # anonymous: public records only
        with pytest.raises(NotAuthenticated):
            store.service("runs").patch(run["_id"], {"status": "error"})
