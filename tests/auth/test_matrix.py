"""The permission matrix: {anonymous, viewer, editor A, editor B, admin} x {find, get, create, update,
patch, remove} x {REST, socket.io} x {own, other's private, other's public}, every cell checked.

Rules under test (the defaults, with anonymous allowed to read public records): admins do
anything; editors read public records and manage their own; viewers read public records and their
own; anonymous callers read public records. A record one may not read is a 404 (as if missing);
one that may be read but not changed is a 403; no rule at all is 401 (anonymous) or 403.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.hooks import Params
from tests.auth.support import OK, Actor, auth_server, client_as, outcome

ACTORS = ("anonymous", "viewer", "editorA", "editorB", "admin")
METHODS = ("find", "get", "create", "update", "patch", "remove")
TARGETS = ("own", "other-private", "other-public")
SERVICE = "notes"


def other_of(actor: str) -> str:
    return "editorA" if actor == "editorB" else "editorB"


def expected(actor: str, method: str, target: str) -> Any:
    if actor == "admin":
        return "visible" if method == "find" else OK
    readable = target == "other-public" or (target == "own" and actor != "anonymous")
    writable = target == "own" and actor.startswith("editor")
    if method == "find":
        return "visible" if readable else "hidden"
    if method == "get":
        return OK if readable else 404
    if method == "create":
        return {"anonymous": 401, "viewer": 403}.get(actor, OK)
    if writable:
        return OK
    if actor == "anonymous":
        return 401
    if actor == "viewer":
        return 403
    return 403 if readable else 404


async def make_target(srv: Any, actors: dict[str, Actor], actor: str, target: str, tag: str) -> dict[str, Any]:
    """The record a cell acts on, created server side (no permission checks)."""
    owner = actors[actor].id if target == "own" else actors[other_of(actor)].id
    record: dict[str, Any] = {"tag": tag, "public": target == "other-public", "n": 1}
    if owner is not None:
        record["userId"] = owner
    return await srv.app.service(SERVICE).create(record)


async def run_cell(client: Any, method: str, record: dict[str, Any], tag: str) -> Any:
    rid = record["_id"]
    if method == "find":
        code, page = await outcome(client, "find", SERVICE, {"tag": tag})
        assert code == OK, page
        ids = [r["_id"] for r in page["data"]]
        assert page["total"] == len(ids)  # counted by the same rules
        return "visible" if rid in ids else "hidden"
    args: dict[str, tuple[Any, ...]] = {
        "get": (rid,),
        "create": ({"tag": tag, "public": record["public"], "userId": record.get("userId")},),
        "update": (rid, {"tag": tag, "public": record["public"], "n": 2}),
        "patch": (rid, {"n": 3}),
        "remove": (rid,),
    }
    code, _ = await outcome(client, method, SERVICE, *args[method])
    return code


@pytest.mark.parametrize("transport", ["rest", "socketio"])
@pytest.mark.parametrize("actor", ACTORS)
async def test_matrix(tmp_path: Path, actor: str, transport: str) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        client = await client_as(transport, srv.url, actors[actor])
        got, want = {}, {}
        try:
            for method in METHODS:
                for target in TARGETS:
                    tag = f"{method}-{target}"
                    record = await make_target(srv, actors, actor, target, tag)
                    got[(method, target)] = await run_cell(client, method, record, tag)
                    want[(method, target)] = expected(actor, method, target)
                    stored = await srv.app.service(SERVICE).find(Params(query={"_id": record["_id"]}))
                    if got[(method, target)] != OK or method in ("find", "get", "create"):
                        # A refused call changed nothing.
                        assert stored["data"] == [record], (method, target)
        finally:
            await client.close()
        assert got == want


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_created_records_belong_to_the_caller(tmp_path: Path, transport: str) -> None:
    """An editor cannot create a record for somebody else; an admin may name the owner."""
    async with auth_server(tmp_path) as (srv, actors):
        a, admin = actors["editorA"], actors["admin"]
        for actor, expected_owner in ((a, a.id), (admin, actors["editorB"].id)):
            client = await client_as(transport, srv.url, actor)
            try:
                code, record = await outcome(client, "create", SERVICE, {"userId": actors["editorB"].id})
            finally:
                await client.close()
            assert code == OK and record["userId"] == expected_owner


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_no_giving_away_or_taking(tmp_path: Path, transport: str) -> None:
    """An editor may not move its record to another owner, by patch or update, nor take one."""
    async with auth_server(tmp_path) as (srv, actors):
        a, b = actors["editorA"], actors["editorB"]
        mine = await srv.app.service(SERVICE).create({"userId": a.id, "public": False})
        theirs = await srv.app.service(SERVICE).create({"userId": b.id, "public": True})
        client = await client_as(transport, srv.url, a)
        try:
            assert (await outcome(client, "patch", SERVICE, mine["_id"], {"userId": b.id}))[0] == 403
            assert (await outcome(client, "update", SERVICE, mine["_id"], {"userId": b.id}))[0] == 403
            assert (await outcome(client, "patch", SERVICE, theirs["_id"], {"userId": a.id}))[0] == 403
            # a replace without the owner field keeps it
            code, replaced = await outcome(client, "update", SERVICE, mine["_id"], {"public": True})
            assert code == OK and replaced["userId"] == a.id
        finally:
            await client.close()
        assert (await srv.app.service(SERVICE).get(theirs["_id"]))["userId"] == b.id


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_find_filters_and_counts_before_paging(tmp_path: Path, transport: str) -> None:
    """Totals and pages count only readable records: not a page post-filtered."""
    async with auth_server(tmp_path) as (srv, actors):
        a, b = actors["editorA"], actors["editorB"]
        svc = srv.app.service(SERVICE)
        for i in range(7):
            await svc.create({"userId": b.id, "public": False, "i": i})
        for i in range(3):
            await svc.create({"userId": b.id, "public": True, "i": 10 + i})
        await svc.create({"userId": a.id, "public": False, "i": 20})
        client = await client_as(transport, srv.url, a)
        try:
            code, page = await outcome(client, "find", SERVICE, {"$limit": 2, "$sort": {"i": 1}})
            assert code == OK
            assert page["total"] == 4 and [r["i"] for r in page["data"]] == [10, 11]
            code, rest = await outcome(client, "find", SERVICE, {"$limit": 2, "$skip": 2, "$sort": {"i": 1}})
            assert [r["i"] for r in rest["data"]] == [12, 20]
            code, count = await outcome(client, "find", SERVICE, {"$limit": 0})
            assert count["total"] == 4
            code, distinct = await outcome(client, "find", SERVICE, {"$distinct": "i"})
            assert sorted(distinct) == [10, 11, 12, 20]
            # a client $or cannot widen the rules
            code, widened = await outcome(client, "find", SERVICE, {"$or": [{"public": False}, {"public": True}]})
            assert widened["total"] == 4
        finally:
            await client.close()


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_multi_writes_touch_only_what_the_caller_may(tmp_path: Path, transport: str) -> None:
    config = """
[authentication]
enabled = true
secret = "test-secret-0123456789abcdef0123456789"
[services.notes]
multi = true
"""
    async with auth_server(tmp_path, config=config) as (srv, actors):
        a, b = actors["editorA"], actors["editorB"]
        svc = srv.app.service(SERVICE)
        mine = [await svc.create({"userId": a.id, "k": 1}) for _ in range(2)]
        theirs = [await svc.create({"userId": b.id, "k": 1, "public": True}) for _ in range(2)]
        client = await client_as(transport, srv.url, a)
        try:
            code, patched = await outcome(client, "patch", SERVICE, None, {"k": 2}, {"k": 1})
            assert code == OK and sorted(r["_id"] for r in patched) == sorted(r["_id"] for r in mine)
            assert (await outcome(client, "patch", SERVICE, None, {"userId": b.id}, {}))[0] == 403
            code, removed = await outcome(client, "remove", SERVICE, None, {})
            assert code == OK and sorted(r["_id"] for r in removed) == sorted(r["_id"] for r in mine)
        finally:
            await client.close()
        left = await svc.find()
        assert sorted(r["_id"] for r in left["data"]) == sorted(r["_id"] for r in theirs)
        assert all(r["k"] == 1 for r in left["data"])


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_get_by_id_with_select_and_query(tmp_path: Path, transport: str) -> None:
    """A get by id is checked on the whole record, whatever ``$select`` keeps, and a client query
    still narrows it."""
    async with auth_server(tmp_path) as (srv, actors):
        b = actors["editorB"]
        svc = srv.app.service(SERVICE)
        private = await svc.create({"userId": b.id, "public": False, "n": 1})
        public = await svc.create({"userId": b.id, "public": True, "n": 2})
        client = await client_as(transport, srv.url, actors["editorA"])
        try:
            assert (await outcome(client, "get", SERVICE, private["_id"], {"$select": ["n"]}))[0] == 404
            assert await outcome(client, "get", SERVICE, public["_id"], {"$select": ["n"]}) == (
                OK, {"_id": public["_id"], "n": 2})
            assert (await outcome(client, "get", SERVICE, public["_id"], {"n": 3}))[0] == 404
            assert (await outcome(client, "get", SERVICE, private["_id"], {"n": 1}))[0] == 404
        finally:
            await client.close()
