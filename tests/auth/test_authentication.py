"""The ``authentication`` service: strategies, the Feathers result shape, hostile credentials."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from backend.auth.authorize import AUTH_PATH
from backend.channels import Connection
from backend.hooks import HookContext
from tests.auth.support import (
    OK,
    PASSWORD,
    SECRET,
    Actor,
    AuthRestClient,
    auth_server,
    client_as,
    login,
    outcome,
    socket_as,
)
from tests.conformance.clients import SocketClient


async def get_status(url: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with aiohttp.ClientSession() as http, http.get(f"{url}/notes", headers=headers) as resp:
        return resp.status, await resp.json()


def forge(payload: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256", typ: str = "access") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm, headers={"typ": typ})


def claims(sub: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": now + 600, "aud": "plume", "iss": "plume", "jti": "x" * 32, **extra}


async def test_local_login_result_shape(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        async with aiohttp.ClientSession() as http, http.post(f"{srv.url}/authentication", json={
                "strategy": "local", "email": "EditorA@Example.org ", "password": PASSWORD}) as resp:
            assert resp.status == 201
            body = await resp.json()
        assert set(body) == {"accessToken", "authentication", "user"}
        assert body["authentication"]["strategy"] == "local"
        payload = body["authentication"]["payload"]
        assert payload["sub"] == actors["editorA"].id and payload["exp"] - payload["iat"] == 86400
        assert body["user"]["_id"] == actors["editorA"].id and "password" not in body["user"]
        # the token is a real HS256 JWT for that user
        decoded = jwt.decode(body["accessToken"], SECRET, algorithms=["HS256"], audience="plume")
        assert decoded["sub"] == actors["editorA"].id


@pytest.mark.parametrize("data", [
    {"strategy": "local", "email": "editora@example.org", "password": "wrong password"},
    {"strategy": "local", "email": "nobody@example.org", "password": PASSWORD},
    {"strategy": "local", "email": "editora@example.org"},
    {"strategy": "local", "email": ["x"], "password": {"$ne": 1}},
    {"strategy": "jwt", "accessToken": "not-a-token"},
    {"strategy": "api-key", "apiKey": "plume_0123456789abcdef01234567_" + "a" * 43},
    {"strategy": "oauth"},
    {},
])
async def test_bad_logins_are_401(tmp_path: Path, data: dict[str, Any]) -> None:
    async with auth_server(tmp_path) as (srv, _):
        async with aiohttp.ClientSession() as http, http.post(f"{srv.url}/authentication", json=data) as resp:
            body = await resp.json()
        assert resp.status == 401 and body["name"] == "NotAuthenticated", body
        assert "accessToken" not in body


async def test_non_object_login_is_400(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, _), aiohttp.ClientSession() as http:
        async with http.post(f"{srv.url}/authentication", json=["local"]) as resp:
            assert resp.status == 400


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery
async def test_hostile_tokens_are_401(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a = actors["editorA"]
        assert (await get_status(srv.url, f"Bearer {a.token}"))[0] == 200
        head, body, sig = a.token.split(".")
        other = base64.urlsafe_b64encode(json.dumps(claims(actors["admin"].id)).encode()).rstrip(b"=").decode()
        none_token = jwt.encode(claims(actors["admin"].id), None, algorithm="none")
        cases = {
            "tampered payload": f"{head}.{other}.{sig}",
            "tampered signature": f"{head}.{body}.{sig[:-4]}AAAA",
            "alg none": none_token,
            "alg none, no signature": none_token.rsplit(".", 1)[0] + ".",
            "foreign key": forge(claims(actors["admin"].id), secret="another-secret-0123456789abcdef0123"),
            "HS512": forge(claims(actors["admin"].id), algorithm="HS512"),  # right key, wrong algorithm
            "expired": forge(claims(a.id, iat=int(time.time()) - 700, exp=int(time.time()) - 100)),
            "wrong audience": forge(claims(a.id, aud="someone-else")),
            "wrong issuer": forge(claims(a.id, iss="feathers")),
            "refresh typ": forge(claims(a.id), typ="refresh"),
            "no jti": forge({k: v for k, v in claims(a.id).items() if k != "jti"}),
            "unknown user": forge(claims("0123456789abcdef01234567")),
            "garbage": "x.y.z",
            "huge": "a" * 10000,  # past MAX_TOKEN, within the 16 KiB header limit
            "empty bearer": "",
        }
        for name, token in cases.items():
            status, body = await get_status(srv.url, f"Bearer {token}")
            assert status == 401 and body["name"] == "NotAuthenticated", (name, status, body)
        assert (await get_status(srv.url, f"Basic {a.token}"))[0] == 401
        assert (await get_status(srv.url, a.token))[0] == 200  # a bare token, as Feathers accepts
        status, body = await get_status(srv.url, f"Bearer {cases['expired']}")
        assert body["message"] == "jwt expired"


async def test_jwt_strategy_reauthenticates(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a = actors["editorA"]
        async with aiohttp.ClientSession() as http, http.post(f"{srv.url}/authentication", json={
                "strategy": "jwt", "accessToken": a.token}) as resp:
            body = await resp.json()
        assert resp.status == 201 and body["accessToken"] == a.token
        assert body["authentication"]["strategy"] == "jwt" and body["user"]["_id"] == a.id


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_logout_revokes_the_token(tmp_path: Path, transport: str) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a = actors["editorA"]
        other_conn = await socket_as(srv.url, a)  # another connection using the same token
        if transport == "rest":
            client: Any = AuthRestClient(srv.url, a.token)
            code, result = await outcome(client, "remove", "authentication", None)
        else:
            client = await socket_as(srv.url, a)
            code, result = await outcome(client, "remove", "authentication", None)
        try:
            assert code == OK and result["accessToken"] == a.token and result["user"]["_id"] == a.id
            status, body = await get_status(srv.url, f"Bearer {a.token}")
            assert status == 401 and "revoked" in body["message"]
            if transport == "socketio":  # the connection itself is anonymous again
                assert (await outcome(client, "create", "notes", {}))[0] == 401
            await _wait_disconnected(other_conn)
            # logging in again gives a new, working token
            async with aiohttp.ClientSession() as http, http.post(f"{srv.url}/authentication", json={
                    "strategy": "local", "email": "editora@example.org", "password": PASSWORD}) as resp:
                fresh = (await resp.json())["accessToken"]
            assert (await get_status(srv.url, f"Bearer {fresh}"))[0] == 200
        finally:
            await client.close()
            await other_conn.close()


async def test_logout_needs_a_login(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, _):
        client = AuthRestClient(srv.url)
        try:
            assert (await outcome(client, "remove", "authentication", None))[0] == 401
        finally:
            await client.close()


async def _wait_disconnected(client: SocketClient, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while client.sio.connected and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert not client.sio.connected


async def test_socket_login_is_per_connection(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        logged = await socket_as(srv.url, actors["editorA"])
        anonymous = await SocketClient(srv.url).connect()
        try:
            assert (await outcome(logged, "create", "notes", {"x": 1}))[0] == OK
            assert (await outcome(anonymous, "create", "notes", {"x": 1}))[0] == 401
            init = next(data for event, data in anonymous.events if event == "init")
            assert init["auth"] is True and "authentication" in init["services"]
            code, _ = await outcome(anonymous, "create", "authentication", {"strategy": "local",
                                    "email": "editorb@example.org", "password": PASSWORD})
            assert code == OK
            code, note = await outcome(anonymous, "create", "notes", {"x": 2})
            assert code == OK and note["userId"] == actors["editorB"].id
        finally:
            await logged.close()
            await anonymous.close()


async def test_expired_token_disconnects_the_socket(tmp_path: Path) -> None:
    config = f"""
[authentication]
enabled = true
secret = "{SECRET}"
token_lifetime = 4
"""
    async with auth_server(tmp_path, config=config) as (srv, actors):
        # A token of its own, fresh: making the other users may have taken a while on a busy machine.
        fresh = await login(srv.url, "editora@example.org")
        actor = Actor("editorA", actors["editorA"].user, fresh["accessToken"])
        client = await socket_as(srv.url, actor)
        try:
            assert client.sio.connected
            await _wait_disconnected(client, timeout=30)
            assert (await get_status(srv.url, f"Bearer {actor.token}"))[0] == 401
        finally:
            await client.close()


async def test_authentication_methods(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        client = AuthRestClient(srv.url, actors["admin"].token)
        try:
            for method, args in (("find", ()), ("get", ("x",)), ("patch", ("x", {})), ("update", ("x", {}))):
                assert (await outcome(client, method, "authentication", *args))[0] == 405
        finally:
            await client.close()


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_only_signed_in_callers_create_dynamic_services(tmp_path: Path, transport: str) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        anonymous = await client_as(transport, srv.url, actors["anonymous"])
        viewer = await client_as(transport, srv.url, actors["viewer"])
        try:
            code, err = await outcome(anonymous, "find", "brand-new", {})
            assert code == 404 and err["message"] == "Service 'brand-new' not found"
            assert "brand-new" not in srv.app.services
            code, page = await outcome(viewer, "find", "brand-new", {})
            assert code == OK and page["total"] == 0 and "brand-new" in srv.app.services
            assert (await outcome(anonymous, "find", "brand-new", {}))[0] == OK  # it exists now
        finally:
            await anonymous.close()
            await viewer.close()
        async with aiohttp.ClientSession() as http, http.get(
                f"{srv.url}/other-new", headers={"Authorization": "Bearer not-a-token"}) as resp:
            assert resp.status == 401 and "other-new" not in srv.app.services


async def test_anonymous_without_rules_is_told_to_log_in(tmp_path: Path) -> None:
    config = f'[authentication]\nenabled = true\nsecret = "{SECRET}"\n'
    async with auth_server(tmp_path, config=config) as (srv, _), aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/never-made") as resp:
            assert resp.status == 401 and "never-made" not in srv.app.services


async def test_a_socket_gone_before_its_login_ends_is_left_alone(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A login still running when the client disconnects: nothing joins a room for the vanished
    connection, and nothing is logged as an error."""
    import socketio

    async with auth_server(tmp_path) as (srv, _):
        gone: dict[str, asyncio.Event] = {}
        vanishing = 3
        held: list[str] = []
        arrived: asyncio.Queue[str] = asyncio.Queue()
        ended: asyncio.Queue[str] = asyncio.Queue()

        def gone_event(conn_id: str) -> asyncio.Event:
            return gone.setdefault(conn_id, asyncio.Event())

        async def disconnected(conn: Connection) -> None:
            gone_event(conn.id).set()

        async def held_until_gone(ctx: HookContext) -> None:
            # The first logins go on once their socket is gone: the case under test, every time.
            if len(held) == vanishing:
                return  # the later login, on another connection
            conn_id = ctx.params.connection.id
            held.append(conn_id)
            arrived.put_nowait(conn_id)
            await asyncio.wait_for(gone_event(conn_id).wait(), 10)

        async def ends(ctx: HookContext) -> None:
            ended.put_nowait(ctx.params.connection.id)

        srv.app.on_disconnect(disconnected)
        srv.app.services[AUTH_PATH].hooks({"before": {"create": [held_until_gone]},
                                           "after": {"create": [ends]}, "error": {"create": [ends]}})
        for _ in range(vanishing):
            sio = socketio.AsyncClient()
            await sio.connect(srv.url, transports=["websocket"])
            await sio.emit("create", ("authentication", {"strategy": "local", "email": "editora@example.org",
                                                         "password": PASSWORD}, {}))
            conn_id = await asyncio.wait_for(arrived.get(), 10)  # the server has the call
            await sio.disconnect()
            assert await asyncio.wait_for(ended.get(), 10) == conn_id  # its login ended after that
        # A later permitted call on another connection is answered: whatever the vanished ones'
        # logins set off (their answers to nobody) had its turn before.
        other = await SocketClient(srv.url).connect()
        try:
            other_id = other.sio.get_sid()
            result = await other.call("create", "authentication", {"strategy": "local", "email": "editora@example.org",
                                                                   "password": PASSWORD})
            assert result["user"]["email"] == "editora@example.org"
            assert await asyncio.wait_for(ended.get(), 10) == other_id
        finally:
            await other.sio.disconnect()
        await asyncio.wait_for(gone_event(other_id).wait(), 10)
        assert srv.app.connections == {}
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
