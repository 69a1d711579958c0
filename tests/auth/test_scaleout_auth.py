"""Authentication across two ``plume serve`` processes (one SQLite file, Redis): a token or user
changed on one process takes effect on the connections of the other, and events fanned out through
Redis still reach only the connections allowed to read them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.auth.support import OK, PASSWORD, SECRET, Actor, AuthRestClient, login, outcome, socket_as
from tests.conformance.clients import SocketClient
from tests.support.redis import needs_redis, two_processes

CONFIG = f"""
[authentication]
enabled = true
secret = "{SECRET}"
signup = "open"
"""


@needs_redis
def test_auth_across_processes(tmp_path: Path) -> None:
    with two_processes(tmp_path, CONFIG) as (a, b):
        asyncio.run(_scenario(a.url, b.url))
        assert "Traceback" not in a.log() + b.log()


async def _signup(url: str, name: str) -> Actor:
    async with aiohttp.ClientSession() as http, http.post(f"{url}/users", json={
            "email": f"{name}@example.org", "password": PASSWORD}) as resp:
        assert resp.status == 201
        user = await resp.json()
    return Actor(name, user, (await login(url, f"{name}@example.org"))["accessToken"])


async def _closed(client: SocketClient, timeout: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while client.sio.connected and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return not client.sio.connected


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _scenario(url_a: str, url_b: str) -> None:
    ann, bob = await _signup(url_a, "ann"), await _signup(url_b, "bob")
    ann_on_a, bob_on_a = await socket_as(url_a, ann), await socket_as(url_a, bob)
    ann_b = AuthRestClient(url_b, ann.token)
    try:
        # a private write on B reaches its owner on A, not the other user on A
        code, note = await outcome(ann_b, "create", "notes", {"public": False})
        assert code == OK
        # Then a public note both may see, from the same process: once each has its event, any
        # event sent before it (the private one, leaked) has arrived too.
        code, public = await outcome(ann_b, "create", "notes", {"public": True})
        assert code == OK
        for client in (ann_on_a, bob_on_a):
            await until(lambda c=client: any(d.get("_id") == public["_id"] for _, d in c.events))
        assert [(e, d["_id"]) for e, d in ann_on_a.events if e == "notes created"] == [
            ("notes created", note["_id"]), ("notes created", public["_id"])]
        assert [(e, d["_id"]) for e, d in bob_on_a.events if e.startswith("notes")] == [
            ("notes created", public["_id"])]
        # logging out on B closes the connection that uses the same token on A
        assert (await outcome(ann_b, "remove", "authentication", None))[0] == OK
        assert await _closed(ann_on_a)
        # an API key made and revoked on B: its connection on A closes
        bob_b = AuthRestClient(url_b, bob.token)
        try:
            code, key = await outcome(bob_b, "create", "api-keys", {"name": "ci"})
            assert code == OK
            keyed = await SocketClient(url_a).connect()
            assert (await outcome(keyed, "create", "authentication", {"strategy": "api-key",
                                                                    "apiKey": key["key"]}))[0] == OK
            assert (await outcome(bob_b, "remove", "api-keys", key["_id"]))[0] == OK
            assert await _closed(keyed)
            await keyed.close()
        finally:
            await bob_b.close()
    finally:
        for client in (ann_on_a, bob_on_a):
            await client.close()
        await ann_b.close()
