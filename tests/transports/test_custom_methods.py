"""Custom service methods (Feathers' ``methods`` option): REST ``X-Service-Method`` and
``POST /<path>/<id>/<method>``, socket.io ``emit(method, path, data, query)``, hooks and permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from backend.app import App
from backend.hooks import HookContext, Params
from tests.auth.support import auth_server, client_as, outcome
from tests.conformance.clients import SocketClient
from tests.support.inprocess import running


class Echo:
    """A service with ``find`` and a custom ``shout`` method."""

    async def find(self, params: Params) -> list[Any]:
        return []

    async def shout(self, data: Any, params: Params) -> dict[str, Any]:
        return {"said": str(data.get("text", "")).upper(), "id": params.route.get("id"),
                "query": params.query, "provider": params.provider}

    async def secret(self, data: Any, params: Params) -> str:  # not declared: never reachable
        return "leak"


async def add_echo(app: App) -> None:
    handle = await app.use("echo", Echo(), {"methods": ["shout"], "method_actions": {"shout": "find"}})

    async def stamp(ctx: HookContext) -> None:
        ctx.data = {**ctx.data, "text": ctx.data.get("text", "") + "!"}

    handle.hooks({"before": {"shout": [stamp]}})


async def test_over_rest_and_socketio(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        await add_echo(srv.app)
        headers = {"X-Service-Method": "shout"}
        async with http.post(f"{srv.url}/echo?x=1", json={"text": "hi"}, headers=headers) as r:
            assert r.status == 200
            assert await r.json() == {"said": "HI!", "id": None, "query": {"x": "1"}, "provider": "rest"}
        async with http.post(f"{srv.url}/echo/abc/shout", json={"text": "yo"}) as r:
            assert r.status == 200 and (await r.json())["id"] == "abc"
        for name in ("secret", "setup", "find", "__init__", "nope"):
            async with http.post(f"{srv.url}/echo", json={}, headers={"X-Service-Method": name}) as r:
                body = await r.json()
                assert r.status == 405 and body["name"] == "MethodNotAllowed", (name, body)
        async with http.post(f"{srv.url}/echo/abc/secret", json={}) as r:
            assert r.status == 405
        sio = await SocketClient(srv.url).connect()
        try:
            assert (await sio.call("shout", "echo", {"text": "a"}, {"q": 1}))["said"] == "A!"
            for name in ("secret", "teardown"):
                code, body = await outcome(sio, name, "echo", {})
                assert code == 405, body
            code, body = await outcome(sio, "shout", "echo", {}, {}, "extra")
            assert code == 400 and "Too many arguments" in body["message"]
        finally:
            await sio.close()


async def test_a_custom_method_needs_its_declared_action(tmp_path: Path) -> None:
    config = """
[authentication]
enabled = true
secret = "test-secret-0123456789abcdef0123456789"

[permissions.services.echo]
viewer = [{ actions = ["find"] }]
editor = []
"""
    async with auth_server(tmp_path, config=config) as (srv, actors):
        await add_echo(srv.app)
        for name, expected in (("viewer", "ok"), ("editorA", 403), ("anonymous", 401), ("admin", "ok")):
            for transport in ("rest", "socketio"):
                client = await client_as(transport, srv.url, actors[name])
                try:
                    code, _ = await outcome(client, "shout", "echo", {"text": "x"}) if transport == "socketio" \
                        else await rest_shout(srv.url, actors[name].token)
                finally:
                    await client.close()
                assert code == expected, (name, transport, code)


async def rest_shout(url: str, token: str | None) -> tuple[Any, Any]:
    headers = {"X-Service-Method": "shout", **({"Authorization": f"Bearer {token}"} if token else {})}
    async with aiohttp.ClientSession() as http, http.post(f"{url}/echo", json={"text": "x"}, headers=headers) as r:
        body = await r.json()
        return ("ok" if r.status == 200 else r.status), body


async def test_bad_declarations_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path) as srv:
        for methods in (["secret2"], ["find"], ["Shout"], ["_private"]):
            with pytest.raises(ValueError, match="cannot be a custom method"):
                await srv.app.use(f"bad{len(methods[0])}", Echo(), {"methods": methods})
