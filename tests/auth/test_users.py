"""The ``users`` service: signup policy, hashed passwords never returned, roles, unique emails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from backend.query import Cmp, Query
from tests.auth.support import OK, PASSWORD, SECRET, Actor, AuthRestClient, auth_server, login, outcome, socket_as

OPEN = f"""
[authentication]
enabled = true
secret = "{SECRET}"
signup = "open"
"""


async def stored_user(srv: Any, email: str) -> dict[str, Any]:
    adapter = srv.app.service("users").store
    (doc,) = await adapter._find(Query(where=Cmp(("email",), "$eq", email)))
    return doc


@pytest.mark.parametrize("transport", ["rest", "socketio"])
async def test_open_signup(tmp_path: Path, transport: str) -> None:
    async with auth_server(tmp_path, config=OPEN) as (srv, _):
        anonymous = AuthRestClient(srv.url) if transport == "rest" else await socket_as(srv.url, Actor("anonymous"))
        try:
            code, user = await outcome(anonymous, "create", "users", {"email": "New@Example.org",
                                                                     "password": "a long password"})
            assert code == OK, user
            assert user["email"] == "new@example.org" and user["role"] == "editor" and "password" not in user
            assert (await outcome(anonymous, "create", "users", {"email": "x@example.org", "password": "a long pw!",
                                                                "role": "admin"}))[0] == 403
            code, err = await outcome(anonymous, "create", "users", {"email": "NEW@example.org",
                                                                    "password": "another password"})
            assert code == 409 and err["errors"] == {"email": "already registered"}
            for bad in ({"email": "not-an-email", "password": "a long password"},
                        {"email": "y@example.org"}, {"email": "y@example.org", "password": "short"},
                        {"email": "y@example.org", "password": "p" * 2000},
                        {"email": "y@example.org", "password": "a long password", "role": "nonsense"}):
                code, err = await outcome(anonymous, "create", "users", bad)
                assert code in (400, 403), (bad, code, err)
                assert str(bad.get("password", "§")) not in str(err)  # never echoed
        finally:
            await anonymous.close()
        stored = await stored_user(srv, "new@example.org")
        assert stored["password"].startswith("$argon2id$")
        await login(srv.url, "new@example.org", "a long password")


async def test_closed_signup(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        anonymous, editor = AuthRestClient(srv.url), AuthRestClient(srv.url, actors["editorA"].token)
        admin = AuthRestClient(srv.url, actors["admin"].token)
        try:
            data = {"email": "c@example.org", "password": "a long password"}
            assert (await outcome(anonymous, "create", "users", data))[0] == 401
            assert (await outcome(editor, "create", "users", data))[0] == 403
            code, user = await outcome(admin, "create", "users", {**data, "role": "viewer"})
            assert code == OK and user["role"] == "viewer"
        finally:
            for c in (anonymous, editor, admin):
                await c.close()


async def test_password_never_leaves(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a = actors["editorA"]
        admin = AuthRestClient(srv.url, actors["admin"].token)
        listener = await socket_as(srv.url, actors["admin"])
        try:
            results = [
                await outcome(admin, "find", "users", {}),
                await outcome(admin, "get", "users", a.id),
                await outcome(admin, "patch", "users", a.id, {"name": "Ann", "password": "new long password"}),
                await outcome(admin, "get", "users", a.id, {"$select": ["password", "email"]}),
            ]
            await listener.wait_events(1)  # the admin connection hears the patch (with no secret in it)
            assert results[3][0] == 400  # no selecting the hash
            for probe in ({"password": {"$gt": ""}}, {"$sort": {"password": 1}}, {"$distinct": "password"},
                          {"$or": [{"password.x": 1}]}):
                assert (await outcome(admin, "find", "users", probe))[0] == 400, probe
            text = str(results[:3]) + str(listener.events)
            assert "argon2" not in text and "password" not in text.replace("'password'", "")
            assert "new long password" not in text
            await login(srv.url, "editora@example.org", "new long password")
        finally:
            await admin.close()
            await listener.close()


async def test_a_user_edits_only_itself_and_never_its_role(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        a, b = actors["editorA"], actors["editorB"]
        client = AuthRestClient(srv.url, a.token)
        try:
            code, page = await outcome(client, "find", "users", {})
            assert code == OK and [u["_id"] for u in page["data"]] == [a.id]
            assert (await outcome(client, "get", "users", b.id))[0] == 404
            assert (await outcome(client, "patch", "users", b.id, {"name": "x"}))[0] == 404
            assert (await outcome(client, "remove", "users", a.id))[0] == 403  # only admins remove users
            assert (await outcome(client, "patch", "users", a.id, {"role": "admin"}))[0] == 403
            code, me = await outcome(client, "patch", "users", a.id, {"name": "Ada", "role": "editor"})
            assert code == OK and me["name"] == "Ada"
            # a replace without password or role keeps both
            code, me = await outcome(client, "update", "users", a.id, {"email": "ada@example.org", "name": "Ada L"})
            assert code == OK and me["role"] == "editor"
            await login(srv.url, "ada@example.org")
            # the old email is free again, the new one taken
            admin = AuthRestClient(srv.url, actors["admin"].token)
            try:
                assert (await outcome(admin, "create", "users", {"email": "editora@example.org",
                                                                 "password": PASSWORD}))[0] == OK
                assert (await outcome(admin, "patch", "users", b.id, {"email": "Ada@example.org"}))[0] == 409
                assert (await outcome(admin, "patch", "users", b.id, {"role": "viewer"}))[0] == OK
            finally:
                await admin.close()
        finally:
            await client.close()


async def test_concurrent_signups_with_one_email(tmp_path: Path) -> None:
    async with auth_server(tmp_path, config=OPEN) as (srv, _):
        clients = [AuthRestClient(srv.url) for _ in range(8)]
        try:
            results = await asyncio.gather(*(outcome(c, "create", "users", {"email": "race@example.org",
                                                                          "password": f"password-{i}"})
                                             for i, c in enumerate(clients)))
        finally:
            for c in clients:
                await c.close()
        assert sorted(str(code) for code, _ in results) == ["409"] * 7 + ["ok"]
        found = await srv.app.service("users").store._find(Query(where=Cmp(("email",), "$eq", "race@example.org")))
        assert len(found) == 1


async def test_removed_user_loses_access(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        b = actors["editorB"]
        admin = AuthRestClient(srv.url, actors["admin"].token)
        client = AuthRestClient(srv.url, b.token)
        try:
            assert (await outcome(client, "find", "notes", {}))[0] == OK
            assert (await outcome(admin, "remove", "users", b.id))[0] == OK
            code, err = await outcome(client, "find", "notes", {})
            assert code == 401 and err["message"] == "User not found"
            # and the email may be registered again
            assert (await outcome(admin, "create", "users", {"email": "editorb@example.org",
                                                             "password": PASSWORD}))[0] == OK
        finally:
            await admin.close()
            await client.close()


TEAMS = f"""
[authentication]
enabled = true
secret = "{SECRET}"
signup = "open"

[permissions.roles]
editor = [{{ actions = ["manage"], where = {{ team = "$user.team" }} }}]
"""


async def test_attributes_the_rules_name_are_set_by_admins_only(tmp_path: Path) -> None:
    """A rule bound to ``$user.team`` makes ``team`` like ``role``: a user joining another team by
    patching itself would read that team's records."""
    async with auth_server(tmp_path, config=TEAMS) as (srv, actors):
        a, admin_actor = actors["editorA"], actors["admin"]
        for note in ({"team": "red", "text": "red plans"}, {"team": "blue", "text": "b"}):
            await srv.app.service("notes").create(note)
        admin = AuthRestClient(srv.url, admin_actor.token)
        me, anonymous = AuthRestClient(srv.url, a.token), AuthRestClient(srv.url)
        try:
            assert (await outcome(admin, "patch", "users", a.id, {"team": "blue"}))[0] == OK
            code, notes = await outcome(me, "find", "notes", {})
            assert code == OK and [n["text"] for n in notes["data"]] == ["b"]
            code, err = await outcome(me, "patch", "users", a.id, {"team": "red"})
            assert code == 403 and "team" in err["message"]
            assert (await outcome(me, "patch", "users", a.id, {"team": "blue", "name": "A"}))[0] == OK  # unchanged
            code, mine = await outcome(me, "update", "users", a.id, {"email": "editora@example.org", "name": "A2"})
            assert code == OK and mine["team"] == "blue"  # a replace keeps it
            assert (await outcome(me, "update", "users", a.id, {"email": "editora@example.org",
                                                                "team": "red"}))[0] == 403
            code, err = await outcome(anonymous, "create", "users", {"email": "spy@example.org", "password": PASSWORD,
                                                                     "team": "red"})
            assert code == 403 and "team" in err["message"]
            assert [n["text"] for n in (await outcome(me, "find", "notes", {}))[1]["data"]] == ["b"]
        finally:
            for c in (admin, me, anonymous):
                await c.close()


async def test_only_admins_choose_a_user_id(tmp_path: Path) -> None:
    """User ids are in every record's ``userId``: signing up with a removed user's id would inherit
    its records (and its old tokens, which name the id)."""
    async with auth_server(tmp_path, config=OPEN) as (srv, actors):
        b = actors["editorB"]
        await srv.app.service("notes").create({"text": "b's", "userId": b.id})
        admin, anonymous = AuthRestClient(srv.url, actors["admin"].token), AuthRestClient(srv.url)
        try:
            assert (await outcome(admin, "remove", "users", b.id))[0] == OK
            code, err = await outcome(anonymous, "create", "users", {"_id": b.id, "email": "new@example.org",
                                                                     "password": PASSWORD})
            assert code == 403 and "_id" in err["message"]
            old = AuthRestClient(srv.url, b.token)
            try:
                assert (await outcome(old, "find", "notes", {}))[0] == 401
            finally:
                await old.close()
            assert (await outcome(admin, "patch", "users", "0" * 24, {"email": "x@example.org"}))[0] == 404
            code, user = await outcome(admin, "create", "users", {"_id": "a" * 24, "email": "chosen@example.org",
                                                                  "password": PASSWORD})
            assert code == OK and user["_id"] == "a" * 24
        finally:
            await admin.close()
            await anonymous.close()


async def test_removing_a_user_removes_its_api_keys(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        b = actors["editorB"]
        mine = AuthRestClient(srv.url, b.token)
        admin = AuthRestClient(srv.url, actors["admin"].token)
        try:
            assert (await outcome(mine, "create", "api-keys", {"name": "ci"}))[0] == OK
            assert (await outcome(admin, "remove", "users", b.id))[0] == OK
            code, page = await outcome(admin, "find", "api-keys", {"userId": b.id})
            assert code == OK and page["total"] == 0
        finally:
            await mine.close()
            await admin.close()
