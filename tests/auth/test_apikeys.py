"""API keys: shown once, stored as a digest, owner-only, usable on both transports, revocable."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from backend.query import IdIn, Query
from tests.auth.support import AUTH_CONFIG, OK, AuthRestClient, auth_server, client_as, outcome, socket_as
from tests.conformance.clients import SocketClient
from tests.support.inprocess import running


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_key_lifecycle(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a = AuthRestClient(srv.url, actors["editorA"].token)
        b = AuthRestClient(srv.url, actors["editorB"].token)
        admin = AuthRestClient(srv.url, actors["admin"].token)
        try:
            code, created = await outcome(a, "create", "api-keys", {"name": "ci"})
            assert code == OK and created["userId"] == actors["editorA"].id
            key = created["key"]
            assert key.startswith(f"plume_{created['_id']}_") and key.startswith(created["prefix"])
            assert created["prefix"] == f"plume_{created['_id']}_"  # none of the secret
            assert "digest" not in created
            stored = (await srv.app.service("api-keys").store._find(Query(where=IdIn((created["_id"],)))))[0]
            secret = key[len("plume_") + 25:]  # plume_<24-hex id>_<secret>
            assert key not in str(stored) and stored["digest"] == hashlib.sha256(secret.encode()).hexdigest()
            # listed by its owner (without the secret), not by others; admins see all
            code, mine = await outcome(a, "find", "api-keys", {})
            assert [k["_id"] for k in mine["data"]] == [created["_id"]]
            assert "key" not in mine["data"][0] and "digest" not in mine["data"][0]
            assert (await outcome(b, "find", "api-keys", {}))[1]["total"] == 0
            assert (await outcome(b, "remove", "api-keys", created["_id"]))[0] == 404
            assert (await outcome(admin, "find", "api-keys", {}))[1]["total"] == 1
            # only the name changes
            assert (await outcome(a, "patch", "api-keys", created["_id"], {"name": "renamed"}))[0] == OK
            assert (await outcome(a, "patch", "api-keys", created["_id"], {"digest": "0" * 64}))[0] == 400
            assert (await outcome(a, "update", "api-keys", created["_id"], {"name": "x"}))[0] == 405
            assert (await outcome(a, "find", "api-keys", {"digest": stored["digest"]}))[0] == 400
            # the key works over REST and socket.io, as its owner
            with_key = AuthRestClient(srv.url, key)
            try:
                code, note = await outcome(with_key, "create", "notes", {"via": "key"})
                assert code == OK and note["userId"] == actors["editorA"].id
            finally:
                await with_key.close()
            sock = await SocketClient(srv.url).connect()
            code, result = await outcome(sock, "create", "authentication", {"strategy": "api-key", "apiKey": key})
            assert code == OK and result["user"]["_id"] == actors["editorA"].id
            exchanged = result["accessToken"]
            assert (await outcome(sock, "find", "notes", {}))[1]["total"] == 1
            # revoked: the key, the token exchanged for it and the connection it opened all stop
            assert (await outcome(a, "remove", "api-keys", created["_id"]))[0] == OK
            for credential in (key, exchanged):
                async with aiohttp.ClientSession() as http, http.get(
                        f"{srv.url}/notes", headers={"Authorization": f"Bearer {credential}"}) as resp:
                    assert resp.status == 401
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while sock.sio.connected and loop.time() < deadline:
                await asyncio.sleep(0.02)
            assert not sock.sio.connected
            await sock.close()
        finally:
            for c in (a, b, admin):
                await c.close()


async def test_key_fields_and_expiry(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a = AuthRestClient(srv.url, actors["editorA"].token)
        anonymous = AuthRestClient(srv.url)
        try:
            assert (await outcome(anonymous, "create", "api-keys", {"name": "x"}))[0] == 401
            for bad in ({"name": 5}, {"name": "x" * 300}, {"digest": "0" * 64}, {"_id": "0" * 24},
                        {"expiresAt": "yesterday"}, {"expiresAt": iso(timedelta(days=-1))}):
                assert (await outcome(a, "create", "api-keys", bad))[0] == 400, bad
            soon = iso(timedelta(seconds=1))
            code, short = await outcome(a, "create", "api-keys", {"name": "short", "expiresAt": soon})
            assert code == OK
            await asyncio.sleep(1.2)
            with_key = AuthRestClient(srv.url, short["key"])
            try:
                code, err = await outcome(with_key, "find", "notes", {})
                assert code == 401 and err["message"] == "Invalid API key"
            finally:
                await with_key.close()
            # a well-formed key with a wrong secret, or malformed ones
            wrong = short["key"][:-4] + "AAAA"
            for credential in (wrong, "plume_", "plume_zz_zz", "plume_" + "0" * 24 + "_" + "a" * 43):
                async with aiohttp.ClientSession() as http, http.get(
                        f"{srv.url}/notes", headers={"Authorization": f"Bearer {credential}"}) as resp:
                    assert resp.status == 401, credential
        finally:
            await a.close()
            await anonymous.close()


async def test_viewer_key_keeps_viewer_rights(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        viewer = await socket_as(srv.url, actors["viewer"])
        try:
            code, created = await outcome(viewer, "create", "api-keys", {"name": "dashboards"})
            assert code == OK
            with_key = AuthRestClient(srv.url, created["key"])
            try:
                assert (await outcome(with_key, "create", "notes", {}))[0] == 403
                assert (await outcome(with_key, "find", "notes", {}))[0] == OK
            finally:
                await with_key.close()
        finally:
            await viewer.close()


async def test_a_token_exchanged_for_a_key_ends_with_the_key(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a = AuthRestClient(srv.url, actors["editorA"].token)
        try:
            ends = datetime.now(UTC) + timedelta(seconds=3)
            soon = iso(timedelta(seconds=3))
            code, key = await outcome(a, "create", "api-keys", {"name": "short", "expiresAt": soon})
            assert code == OK
            async with aiohttp.ClientSession() as http, http.post(f"{srv.url}/authentication", json={
                    "strategy": "api-key", "apiKey": key["key"]}) as resp:
                login = await resp.json()
                assert resp.status == 201
            assert login["authentication"]["payload"]["exp"] <= ends.timestamp() + 1
            with_token = AuthRestClient(srv.url, login["accessToken"])
            try:
                # Accepted until the key's end, refused from then on (whenever this machine gets there).
                while (code := (await outcome(with_token, "find", "notes", {}))[0]) == OK:
                    assert datetime.now(UTC) < ends + timedelta(seconds=30), "never refused"
                    await asyncio.sleep(0.1)
                assert code == 401 and datetime.now(UTC) >= ends - timedelta(seconds=1)
            finally:
                await with_token.close()
        finally:
            await a.close()


async def test_keys_work_whatever_the_owner_field(tmp_path: Path) -> None:
    """Keys always name their owner in ``userId``; ``owner_field`` is for the other services."""
    config = AUTH_CONFIG.replace(
        "[permissions.roles]", '[permissions]\nowner_field = "ownerId"\n\n[permissions.roles]')
    async with auth_server(tmp_path, config=config) as (srv, actors):
        a = AuthRestClient(srv.url, actors["editorA"].token)
        try:
            code, key = await outcome(a, "create", "api-keys", {"name": "ci"})
            assert code == OK and key["userId"] == actors["editorA"].id
            with_key = AuthRestClient(srv.url, key["key"])
            try:
                code, note = await outcome(with_key, "create", "notes", {"text": "by key"})
                assert code == OK and note["ownerId"] == actors["editorA"].id and "userId" not in note
                code, keys = await outcome(with_key, "find", "api-keys", {})
                assert code == OK and [k["_id"] for k in keys["data"]] == [key["_id"]]
            finally:
                await with_key.close()
        finally:
            await a.close()


async def test_prefixes_stored_before_hold_no_secret_after_a_restart(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        client = await client_as("rest", srv.url, actors["editorA"])
        try:
            code, created = await outcome(client, "create", "api-keys", {"name": "old"})
            assert code == OK
        finally:
            await client.close()
        # What an older Plume stored: the id, then three characters of the secret.
        await srv.app.service("api-keys").store._patch([created["_id"]], {"prefix": created["key"][:34]})
    async with running(tmp_path, config=AUTH_CONFIG) as srv:
        stored = await srv.app.service("api-keys").store._get_key(created["_id"])
        assert stored["prefix"] == f"plume_{created['_id']}_"
