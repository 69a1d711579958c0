"""The client with authentication on (``backend/auth``): login/logout, API keys, a 401 typed, socket auth.

Tests over both client shells (the ``shell`` fixture) run against the in-process auth server of
``tests/auth/support.py``; the Writer runs against a ``plume serve`` with auth on and a user made by
``plume users create``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from python_client import DataStore, Remote, Uploader, Writer
from python_client.errors import NotAuthenticated
from tests.auth.support import AUTH_CONFIG, PASSWORD, auth_server
from tests.support.server import REPO, PlumeProcess

from .shells import Inbox, Shell


async def test_login_logout_and_typed_401(shell: Shell, tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), shell.store(srv.url) as store:
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
        assert store.access_token is None and store.user is None
        with pytest.raises(NotAuthenticated):
            await notes.create({"text": "after logout"})


async def test_socket_authentication_decides_which_events_arrive(shell: Shell, tmp_path: Path) -> None:
    mine, public = Inbox(), Inbox()
    async with auth_server(tmp_path) as (srv, _), shell.store(srv.url) as a, shell.store(srv.url) as anonymous:
        await a.login("editora@example.org", PASSWORD)
        await a.service("notes").on("created", lambda note: mine.add(note["text"]))
        await anonymous.service("notes").on("created", lambda note: public.add(note["text"]))
        assert a.realtime.server_auth and a.realtime.auth_error is None
        await a.service("notes").create({"text": "private"})
        await a.service("notes").create({"text": "for all", "public": True})
        await mine.until(lambda texts: len(texts) == 2)
        await public.until(lambda texts: len(texts) == 1)
        # Anonymous reads public records only: "private" was published before "for all", in order.
        assert mine.items == ["private", "for all"] and public.items == ["for all"]
        await a.logout()  # the socket logs out too: A's private records stop reaching it
        async with shell.store(srv.url) as again:
            await again.login("editora@example.org", PASSWORD)
            await again.service("notes").create({"text": "private 2"})
            await again.service("notes").create({"text": "public 2", "public": True})
        await mine.until(lambda texts: len(texts) == 3)
        assert mine.items == ["private", "for all", "public 2"]  # events come in order: "private 2" was not sent
        await a.login("editora@example.org", PASSWORD)  # the open socket logs in again
        await a.service("notes").create({"text": "private 3"})
        await mine.until(lambda texts: len(texts) == 4)
        assert mine.items[3] == "private 3"


async def test_api_keys_on_rest_and_socket(shell: Shell, tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), shell.store(srv.url) as owner:
        await owner.login("editora@example.org", PASSWORD)
        key = (await owner.service("api-keys").create({"name": "training box"}))["key"]
        async with shell.store(srv.url, api_key=key) as box:
            seen = Inbox()
            await box.service("notes").on("created", lambda note: seen.add(note["text"]))
            note = await box.service("notes").create({"text": "from the key"})
            assert note["userId"] == actors["editorA"].id
            # The socket logged in with the api-key strategy (anonymous sockets see public notes only).
            assert await seen.until(lambda texts: len(texts) == 1) == ["from the key"]
        async with shell.store(srv.url, api_key="plume_not-a-key") as bad:
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
