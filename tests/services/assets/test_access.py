"""Asset files with authentication on: downloadable through a readable document (or public by
config, as in Marcelle); a document names only its writer's upload."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.auth.support import PASSWORD, SECRET, Actor, auth_server, login
from tests.services.files.support import form
from tests.support.inprocess import running

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def headers(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {actor.token}"} if actor.token else {}


async def upload_asset(http: aiohttp.ClientSession, url: str, actor: Actor) -> str:
    async with http.post(f"{url}/assets/upload", data=form(("photo.png", "holiday.png", PNG)),
                         headers=headers(actor)) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["holiday.png"]


async def status_of(http: aiohttp.ClientSession, method: str, url: str, actor: Actor, body: object = None) -> int:
    async with http.request(method, url, json=body, headers=headers(actor)) as r:
        return r.status


async def test_asset_downloads_follow_their_document(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), aiohttp.ClientSession() as http:
        a, b, admin, anon = actors["editorA"], actors["editorB"], actors["admin"], actors["anonymous"]
        ref = await upload_asset(http, srv.url, a)
        file_url = f"{srv.url}/assets/{ref}"
        assert await status_of(http, "GET", file_url, a) == 404  # no document names it yet
        doc = {"filename": "holiday.png", "extension": "png", "mime": "image/png", "url": file_url}
        assert await status_of(http, "POST", f"{srv.url}/assets", b, doc) == 403  # not B's upload
        async with http.post(f"{srv.url}/assets", json={**doc, "fileRef": "forged"}, headers=headers(a)) as r:
            asset = await r.json()
            assert r.status == 201 and asset["fileRef"] == ref and asset["userId"] == a.id
        async with http.get(file_url, headers=headers(a)) as r:
            assert r.status == 200 and await r.read() == PNG
            assert "immutable" not in r.headers["Cache-Control"]  # the answer depends on who asks
        assert await status_of(http, "GET", file_url, admin) == 200
        assert await status_of(http, "GET", file_url, b) == 404
        assert await status_of(http, "GET", file_url, anon) == 404
        assert await status_of(http, "PATCH", f"{srv.url}/assets/{asset['_id']}", a, {"public": True}) == 200
        assert await status_of(http, "GET", file_url, b) == 200
        assert await status_of(http, "GET", file_url, anon) == 200
        assert await status_of(http, "GET", f"{srv.url}/assets/{ref[:-3]}jpg", b) == 404


async def test_public_assets_by_config(tmp_path: Path) -> None:
    """Anybody downloads, even where anonymous callers may read nothing (the default roles)."""
    config = f'[authentication]\nenabled = true\npublic_assets = true\nsecret = "{SECRET}"\n'
    async with auth_server(tmp_path, config=config) as (srv, actors), aiohttp.ClientSession() as http:
        ref = await upload_asset(http, srv.url, actors["editorA"])
        async with http.get(f"{srv.url}/assets/{ref}") as r:
            assert r.status == 200 and await r.read() == PNG
        async with http.post(f"{srv.url}/assets/upload", data=form(("photo.png", "x.png", PNG))) as r:
            assert r.status == 401  # uploads still need a login


async def test_documents_from_before_auth_get_their_file_ref(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:  # authentication off
        async with http.post(f"{srv.url}/assets/upload", data=form(("photo.png", "old.png", PNG))) as r:
            ref = (await r.json())["old.png"]
        async with http.post(f"{srv.url}/assets", json={"filename": "old.png", "url": f"/assets/{ref}"}) as r:
            assert r.status == 201 and "fileRef" not in await r.json()
    config = f'[authentication]\nenabled = true\nsecret = "{SECRET}"\n'
    async with running(tmp_path, config=config) as srv, aiohttp.ClientSession() as http:
        await srv.app.service("users").create({"email": "root@example.org", "password": PASSWORD, "role": "admin"})
        admin = Actor("admin", None, (await login(srv.url, "root@example.org"))["accessToken"])
        async with http.get(f"{srv.url}/assets/{ref}", headers=headers(admin)) as r:
            assert r.status == 200 and await r.read() == PNG
