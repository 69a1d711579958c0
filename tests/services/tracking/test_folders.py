"""``folders`` and runs placed in them: paths under /<user>/, parents, the default folder, unique
names per folder, read-only places, and who may write where (authentication on)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.auth.support import auth_server
from tests.support.inprocess import running

from .support import Http


async def test_paths_parents_and_the_default_folder(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        status, page = await http("GET", "/folders?path=default")
        assert [f["path"] for f in page["data"]] == ["/anonymous/default"]
        status, made = await http("POST", "/folders", {"path": "cv/image/mnist"})
        assert status == 201 and made["path"] == "/anonymous/cv/image/mnist" and made["parent"] == "/anonymous/cv/image"
        status, page = await http("GET", "/folders?parent=/anonymous/cv")
        assert [f["path"] for f in page["data"]] == ["/anonymous/cv/image"]
        assert (await http("POST", "/folders", {"path": "/anonymous/cv/image/mnist"}))[0] == 409
        for bad in ("", "/anonymous", "a/../b", "a//b", " a", "x" * 200):
            status, err = await http("POST", "/folders", {"path": bad})
            assert status == 400, (bad, err)
        status, _ = await http("PATCH", f"/folders/{made['_id']}", {"path": "/anonymous/other"})
        assert status == 400
        status, _ = await http("PATCH", f"/folders/{made['_id']}", {"description": "digits"})
        assert status == 200


async def test_runs_are_named_once_per_folder_and_stay_in_place(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        status, err = await http("POST", "/runs", {"name": "r1", "folder": "cv"})
        assert status == 404 and "cv" in err["message"]  # no such folder: nothing made
        assert (await http("GET", "/runs?$limit=0"))[1]["total"] == 0
        assert (await http("POST", "/folders", {"path": "cv"}))[0] == 201
        status, run = await http("POST", "/runs", {"name": "r1", "folder": "cv"})
        assert status == 201 and run["folder"] == "/anonymous/cv"
        status, err = await http("POST", "/runs", {"name": "r1", "folder": "/anonymous/cv"})
        assert status == 409 and err["errors"] == {"name": "taken in this folder"}
        assert (await http("POST", "/runs", {"name": "r1", "folder": "default"}))[0] == 201
        status, _again = await http("POST", "/runs", {"_id": run["_id"], "name": "r1", "folder": "cv"})
        assert status == 409  # a repeated create: its own id
        for change in ({"name": "r2"}, {"folder": "default"}):
            assert (await http("PATCH", f"/runs/{run['_id']}", change))[0] == 400
        assert (await http("GET", "/runs?folder=cv&name=r1"))[1]["total"] == 1
        status, err = await http("DELETE", f"/folders/{(await http('GET', '/folders?path=cv'))[1]['data'][0]['_id']}")
        assert status == 409  # not empty
        assert (await http("DELETE", f"/runs/{run['_id']}"))[0] == 200
        status, _run2 = await http("POST", "/runs", {"name": "r1", "folder": "cv"})  # the name is free again
        assert status == 201
        for bad in ("", "a/b", "..", "x" * 201):
            assert (await http("POST", "/runs", {"name": bad, "folder": "cv"}))[0] == 400, bad
        assert (await http("POST", "/runs", {"name": "m", "basename": "m"}))[0] == 201  # Marcelle's: no folder


async def test_users_write_only_under_their_own_space(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), aiohttp.ClientSession() as s:
        a, b, admin = (Http(s, srv.url, actors[n].token) for n in ("editorA", "editorB", "admin"))
        assert actors["editorA"].user["username"] == "editora"
        status, page = await a("GET", "/folders?path=default")
        assert [f["path"] for f in page["data"]] == ["/editora/default"]
        status, mine = await a("POST", "/folders", {"path": "cv/mnist"})
        assert status == 201 and mine["path"] == "/editora/cv/mnist"
        assert (await b("POST", "/folders", {"path": "/editora/cv/theirs"}))[0] == 403
        assert (await b("POST", "/runs", {"name": "r", "folder": "/editora/cv/mnist"}))[0] == 403
        assert (await a("POST", "/runs", {"name": "r", "folder": "cv/mnist"}))[0] == 201
        assert (await admin("POST", "/folders", {"path": "/editorb/made-by-admin"}))[0] == 201
        assert (await admin("POST", "/runs", {"name": "r", "folder": "/editora/cv/mnist"}))[0] == 409
        assert (await admin("POST", "/runs", {"name": "r2", "folder": "/editora/cv/mnist"}))[0] == 201
        status, page = await b("GET", "/folders?path=/editora/cv/mnist")
        assert page["total"] == 0  # B reads only its own (and public) records
        anonymous = Http(s, srv.url)
        assert (await anonymous("POST", "/folders", {"path": "/anonymous/x"}))[0] == 401


async def test_usernames_are_unique_and_only_admins_choose_them(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), aiohttp.ClientSession() as s:
        admin, a = Http(s, srv.url, actors["admin"].token), Http(s, srv.url, actors["editorA"].token)
        user = {"email": "EditorA@other.org", "password": "long enough password", "role": "editor"}
        status, made = await admin("POST", "/users", user)
        assert status == 201 and made["username"] == "editora-2"
        assert (await admin("POST", "/users", {**user, "email": "x@y.org", "username": "editora"}))[0] == 409
        for bad in ("anonymous", "Has Caps", "", "-x"):
            assert (await admin("POST", "/users", {**user, "email": "z@y.org", "username": bad}))[0] == 400, bad
        me = actors["editorA"].id
        assert (await a("PATCH", f"/users/{me}", {"username": "ann"}))[0] == 403
        status, changed = await admin("PATCH", f"/users/{me}", {"username": "ann"})
        assert status == 200 and changed["username"] == "ann"
        status, _other = await admin("PATCH", f"/users/{made['_id']}", {"username": "editora"})
        assert status == 200  # the old name was freed
