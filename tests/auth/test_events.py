"""Events reach exactly the connections allowed to read their record, whatever transport wrote it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from backend.service import METHODS
from tests.auth.support import OK, AuthRestClient, auth_server, outcome, socket_as
from tests.conformance.clients import SocketClient

LISTENERS = ("anonymous", "viewer", "editorA", "editorB", "admin")
EVERYBODY = set(LISTENERS)


BARRIER = "barrier"  # a service whose public records every listener hears of


def seen(client: SocketClient) -> list[tuple[str, str]]:
    """(event, record id) pairs a connection received, in order (barrier events left out)."""
    return [(event, data.get("_id")) for event, data in client.events
            if event != "init" and not event.startswith(f"{BARRIER} ")]


async def settle(srv: Any, clients: dict[str, SocketClient], timeout: float = 10.0) -> None:
    """Make one more write that every listener may see and wait until each has its event: events
    reach a connection in order, so any event sent to it before (a leak included) is in by then."""
    mark = await (await srv.app.resolve(BARRIER)).create({"public": True})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for name, client in clients.items():
        while not any(e == f"{BARRIER} created" and d.get("_id") == mark["_id"] for e, d in client.events):
            assert loop.time() < deadline, f"{name} never heard the barrier"
            await asyncio.sleep(0.01)


async def test_events_per_connection(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        listeners = {name: await socket_as(srv.url, actors[name]) for name in LISTENERS}
        a_rest = AuthRestClient(srv.url, actors["editorA"].token)
        b_sock = listeners["editorB"]
        admin_rest = AuthRestClient(srv.url, actors["admin"].token)
        expected: dict[str, list[tuple[str, str]]] = {n: [] for n in LISTENERS}

        async def write(client: Any, method: str, *args: Any, to: set[str]) -> dict[str, Any]:
            code, record = await outcome(client, method, *args)
            assert code == OK, record
            for name in to:
                expected[name].append((f"notes {METHODS[method].event}", record["_id"]))
            return record

        try:
            private = await write(a_rest, "create", "notes", {"public": False}, to={"editorA", "admin"})
            public = await write(a_rest, "create", "notes", {"public": True}, to=EVERYBODY)
            # made private: it stops reaching the others at once
            await write(a_rest, "patch", "notes", public["_id"], {"public": False}, to={"editorA", "admin"})
            # made public: everybody hears of it
            await write(a_rest, "patch", "notes", private["_id"], {"public": True}, to=EVERYBODY)
            await write(b_sock, "create", "notes", {"public": False}, to={"editorB", "admin"})
            await write(a_rest, "update", "notes", public["_id"], {"public": False, "v": 2}, to={"editorA", "admin"})
            await write(a_rest, "remove", "notes", private["_id"], to=EVERYBODY)
            await write(admin_rest, "create", "notes", {"userId": actors["viewer"].id, "public": False},
                        to={"viewer", "admin"})
            await settle(srv, listeners)
            for name, client in listeners.items():
                assert [e for e in seen(client) if e[0].startswith("notes ")] == expected[name], name
        finally:
            for client in listeners.values():
                await client.close()
            await a_rest.close()
            await admin_rest.close()


async def test_user_and_key_events_stay_private(tmp_path: Path) -> None:
    """A user's changes reach that user and admins; a new API key reaches its owner and admins,
    without its secret; logins are never broadcast."""
    async with auth_server(tmp_path) as (srv, actors):
        listeners = {name: await socket_as(srv.url, actors[name]) for name in LISTENERS}
        admin = AuthRestClient(srv.url, actors["admin"].token)
        a = AuthRestClient(srv.url, actors["editorA"].token)
        try:
            assert (await outcome(admin, "patch", "users", actors["editorB"].id, {"name": "Bee"}))[0] == OK
            code, key = await outcome(a, "create", "api-keys", {"name": "ci"})
            assert code == OK and key["key"].startswith("plume_")
            await outcome(listeners["viewer"], "create", "authentication",
                          {"strategy": "jwt", "accessToken": actors["viewer"].token})
            await settle(srv, listeners)
            got = {n: [(e, d) for e, d in c.events if e != "init" and not e.startswith(BARRIER)]
                   for n, c in listeners.items()}
            assert [e for e, _ in got["editorB"]] == ["users patched"]
            assert [e for e, _ in got["editorA"]] == ["api-keys created"]
            assert sorted(e for e, _ in got["admin"]) == ["api-keys created", "users patched"]
            assert got["viewer"] == [] and got["anonymous"] == []
            for name in ("editorA", "admin"):
                event = next(d for e, d in got[name] if e == "api-keys created")
                assert "key" not in event and "digest" not in event and event["_id"] == key["_id"]
            assert "password" not in got["editorB"][0][1]
        finally:
            for client in listeners.values():
                await client.close()
            await admin.close()
            await a.close()


async def test_role_change_moves_live_connections(tmp_path: Path) -> None:
    """Promoting a viewer to editor (or demoting) changes what its open connection hears at once."""
    async with auth_server(tmp_path) as (srv, actors):
        viewer = await socket_as(srv.url, actors["viewer"])
        admin = AuthRestClient(srv.url, actors["admin"].token)
        try:
            svc = srv.app.service("notes")
            await svc.create({"userId": actors["editorA"].id, "public": False, "step": 1})
            await settle(srv, {"viewer": viewer})
            assert seen(viewer) == []
            # The role change reaches the connection before the patch answers.
            assert (await outcome(admin, "patch", "users", actors["viewer"].id, {"role": "admin"}))[0] == OK
            note = await svc.create({"userId": actors["editorA"].id, "public": False, "step": 2})
            await settle(srv, {"viewer": viewer})
            assert ("notes created", note["_id"]) in seen(viewer)
            # and the connection's calls run with the new role
            code, page = await outcome(viewer, "find", "notes", {})
            assert code == OK and page["total"] == 2
            assert (await outcome(admin, "remove", "users", actors["viewer"].id))[0] == OK
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while viewer.sio.connected and loop.time() < deadline:
                await asyncio.sleep(0.02)
            assert not viewer.sio.connected  # a removed user's connection is closed
        finally:
            await viewer.close()
            await admin.close()


async def test_selected_writes_still_reach_the_right_connections(tmp_path: Path) -> None:
    """A write with ``$select`` answers (and sends) the selected fields, but who hears it is decided
    on the whole record: the owner field or ``public`` may be left out of the selection."""
    async with auth_server(tmp_path) as (srv, actors):
        listeners = {name: await socket_as(srv.url, actors[name]) for name in LISTENERS}
        a = AuthRestClient(srv.url, actors["editorA"].token)
        try:
            code, private = await outcome(a, "create", "notes", {"public": False, "n": 1}, {"$select": ["n"]})
            assert code == OK and set(private) == {"_id", "n"}
            code, public = await outcome(a, "patch", "notes", private["_id"], {"public": True, "n": 2},
                                         {"$select": ["n"]})
            assert code == OK and public == {"_id": private["_id"], "n": 2}
            await settle(srv, listeners)
            for name, client in listeners.items():
                want = [("notes created", private["_id"])] if name in ("editorA", "admin") else []
                assert seen(client) == [*want, ("notes patched", private["_id"])], name
            assert all(set(d) == {"_id", "n"} for c in listeners.values() for e, d in c.events
                       if e != "init" and not e.startswith(BARRIER))
        finally:
            for client in listeners.values():
                await client.close()
            await a.close()
