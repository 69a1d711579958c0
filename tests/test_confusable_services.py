"""No service path can reach another service's storage (the case-variant alias attack).

SQLite ignores case in table names: ``/Users`` once made a dynamic service on the ``users``
table, without the users service's hooks, and an editor could post an admin there. Every
registered service is walked here, with authentication on and off, over REST and socket.io.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from backend.storage import Storage
from backend.storage.names import storage_name
from tests.auth.support import PASSWORD, Actor, auth_server, client_as, login, outcome
from tests.conformance.clients import RestClient, SocketClient
from tests.support.inprocess import Running, running


def variants(path: str) -> set[str]:
    """Paths a client could mistake for ``path``: other cases, ``_`` for ``-`` and back."""
    forms = {path.upper(), path.capitalize(), path.swapcase(), path.title(), path[:-1] + path[-1].upper()}
    forms |= {f.replace("-", "_") for f in {*forms, path}} | {f.replace("_", "-") for f in {*forms, path}}
    return forms - {path}


EVIL = {"email": "evil@example.org", "role": "admin"}
SOME_ID = "000000000000000000000001"
#: Every method, by id and (patch, remove) for many records at once: none may reach the storage.
CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("find", ()), ("find", ({"role": "admin"},)), ("get", (SOME_ID,)), ("create", (EVIL,)),
    ("create", ([EVIL, EVIL],)), ("update", (SOME_ID, EVIL)), ("patch", (SOME_ID, EVIL)),
    ("patch", (None, EVIL, {"role": "editor"})), ("remove", (SOME_ID,)), ("remove", (None, {})),
]


async def walk(srv: Running, client: Any, expect: set[int], *, hint: bool = True) -> None:
    """Call every variant of every registered service; each must fail with a code in ``expect``
    (a 404 naming the real service when ``hint``)."""
    before = await srv.app.extensions.get(Storage).stored_services()
    registered = sorted(p for p in srv.app.services if "/" not in p)
    assert {"runs", "tfjs-models", "onnx-models", "keras-models", "assets"} <= set(registered)
    for path in registered:
        for variant in sorted(variants(path)):
            assert storage_name(variant).casefold() != storage_name(path).casefold()
            for method, args in CALLS:
                code, payload = await outcome(client, method, variant, *args)
                assert code in expect, (variant, method, args[:1], code, payload)
                if code == 404 and hint:
                    assert payload["message"] == f"Service '{variant}' not found (did you mean '{path}'?)"
            assert variant not in srv.app.services
    assert await srv.app.extensions.get(Storage).stored_services() == before  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_variants_of_builtin_services_are_refused_without_auth(tmp_path: Path, transport: str) -> None:
    async with running(tmp_path) as srv:
        client = RestClient(srv.url) if transport == "rest" else await SocketClient(srv.url).connect()
        try:
            await walk(srv, client, {404})
        finally:
            await client.close()


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_variants_of_builtin_services_are_refused_with_auth(tmp_path: Path, transport: str) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        assert {"users", "api-keys", "authentication"} <= set(srv.app.services)
        editor = await client_as(transport, srv.url, actors["editorA"])
        anonymous = await client_as(transport, srv.url, actors["anonymous"])
        try:
            await walk(srv, editor, {404})
            # Anonymous callers may not create services at all: told to log in, or that there is none.
            await walk(srv, anonymous, {401, 404}, hint=False)
        finally:
            await editor.close()
            await anonymous.close()


async def test_an_editor_cannot_post_an_admin_through_a_case_variant(tmp_path: Path) -> None:
    """The reported attack, end to end: the admin record is never stored and never logs in."""
    from argon2 import PasswordHasher

    async with auth_server(tmp_path) as (srv, actors):
        editor: Actor = actors["editorA"]
        evil = {"email": "evil@example.org", "role": "admin", "password": PasswordHasher().hash(PASSWORD)}
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {editor.token}"}) as http:
            for path in ("Users", "USERS", "uSers", "Api-keys", "Runs"):
                async with http.post(f"{srv.url}/{path}", json=evil) as resp:
                    assert resp.status == 404, await resp.text()
        socket = await client_as("socketio", srv.url, editor)
        try:
            code, _ = await outcome(socket, "create", "Users", evil)
            assert code == 404
        finally:
            await socket.close()
        users = await srv.app.service("users").find()
        assert "evil@example.org" not in [u["email"] for u in users["data"]]
        with pytest.raises(AssertionError):
            await login(srv.url, "evil@example.org")


async def test_a_dynamic_service_keeps_its_case_and_refuses_its_variants(tmp_path: Path) -> None:
    """Marcelle names datasets like ``TrainingSet``: they work, and ``trainingset`` is not them."""
    async with running(tmp_path) as srv:
        client = RestClient(srv.url)
        try:
            await client.call("create", "TrainingSet", {"x": 1})
            assert len((await client.call("find", "TrainingSet"))["data"]) == 1
            for variant in ("trainingset", "TRAININGSET", "trainingSet"):
                code, payload = await outcome(client, "find", variant)
                assert code == 404
                assert payload["message"] == f"Service '{variant}' not found (did you mean 'TrainingSet'?)"
        finally:
            await client.close()
    # After a restart the stored service is known before anyone calls it.
    async with running(tmp_path) as srv:
        client = RestClient(srv.url)
        try:
            code, payload = await outcome(client, "find", "trainingset")
            assert code == 404, payload
            assert len((await client.call("find", "TrainingSet"))["data"]) == 1
        finally:
            await client.close()


async def test_plugins_cannot_register_confusable_paths(tmp_path: Path) -> None:
    async with running(tmp_path) as srv:
        with pytest.raises(ValueError, match="confusable"):
            await srv.app.use("Runs", object())
        with pytest.raises(ValueError, match="confusable"):
            await srv.app.use("keras_models", object())
