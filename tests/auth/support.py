"""A server with authentication on, its users, and clients that call it as one of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.conformance.clients import CallError, RestClient, SocketClient
from tests.support.inprocess import Running, running

SECRET = "test-secret-0123456789abcdef0123456789"
PASSWORD = "correct horse battery"
AUTH_CONFIG = f"""
[authentication]
enabled = true
secret = "{SECRET}"

[permissions.roles]
anonymous = [{{ actions = ["read"], where = {{ public = true }} }}]
"""
ROLES = {"admin": "admin", "viewer": "viewer", "editorA": "editor", "editorB": "editor"}
OK = "ok"


@dataclass
class Actor:
    """A caller: ``user`` and ``token`` are None for the anonymous one."""

    name: str
    user: dict[str, Any] | None = None
    token: str | None = None

    @property
    def id(self) -> str | None:
        return self.user["_id"] if self.user else None


class AuthRestClient(RestClient):
    """The conformance REST client, sending ``Authorization: Bearer <credential>``."""

    def __init__(self, url: str, credential: str | None = None) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {credential}"} if credential else None)


async def socket_as(url: str, actor: Actor) -> SocketClient:
    """A socket.io client whose connection is logged in as ``actor`` (anonymous: not logged in)."""
    client = await SocketClient(url).connect()
    if actor.token is not None:
        await client.call("create", "authentication", {"strategy": "jwt", "accessToken": actor.token})
    return client


async def client_as(transport: str, url: str, actor: Actor) -> Any:
    return AuthRestClient(url, actor.token) if transport == "rest" else await socket_as(url, actor)


async def login(url: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
            f"{url}/authentication", json={"strategy": "local", "email": email, "password": password}) as resp:
        body = await resp.json()
        assert resp.status == 201, body
        return body


async def add_user(srv: Running, name: str, role: str) -> Actor:
    """Create a user (server side) and log it in over REST."""
    email = f"{name.lower()}@example.org"
    user = await srv.app.service("users").create({"email": email, "password": PASSWORD, "role": role, "name": name})
    result = await login(srv.url, email)
    return Actor(name, user, result["accessToken"])


@asynccontextmanager
async def auth_server(tmp_path: Path, config: str = AUTH_CONFIG, **overrides: Any) -> AsyncIterator[
        tuple[Running, dict[str, Actor]]]:
    """A running server with auth on and the actors anonymous, viewer, editorA, editorB, admin."""
    async with running(tmp_path, config=config, **overrides) as srv:
        await srv.app.resolve("notes")  # the dynamic service the tests write to
        actors = {"anonymous": Actor("anonymous")}
        for name, role in ROLES.items():
            actors[name] = await add_user(srv, name, role)
        yield srv, actors


async def outcome(client: Any, method: str, path: str, *args: Any) -> tuple[Any, Any]:
    """``("ok", result)`` or ``(error code, error payload)``."""
    try:
        return OK, await client.call(method, path, *args)
    except CallError as err:
        return err.code, err.payload
