"""Model files with authentication on: uploads need a login, a document names only its writer's
uploads, and files download only through a document the caller may read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests.auth.support import Actor, auth_server
from tests.services.files.support import form

MODEL = (("model.json", "model.json", b'{"modelTopology": {}}'), ("model.weights.bin", "w.bin", b"\x00" * 16))


def headers(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {actor.token}"} if actor.token else {}


async def upload(http: aiohttp.ClientSession, url: str, actor: Actor) -> tuple[int, Any]:
    async with http.post(f"{url}/tfjs-models/upload", data=form(*MODEL), headers=headers(actor)) as r:
        return r.status, await r.json()


async def call(http: aiohttp.ClientSession, method: str, url: str, actor: Actor, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, url, json=body, headers=headers(actor)) as r:
        return r.status, (await r.read() if r.content_type != "application/json" else await r.json())


async def test_model_files_follow_their_document(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), aiohttp.ClientSession() as http:
        a, b, admin, anon = actors["editorA"], actors["editorB"], actors["admin"], actors["anonymous"]
        assert (await upload(http, srv.url, anon))[0] == 401
        assert (await upload(http, srv.url, actors["viewer"]))[0] == 403
        status, pairs = await upload(http, srv.url, a)
        assert status == 200
        # B may not name A's upload (folder ids are guessable ObjectIds)
        doc = {"name": "m", "format": "tfjs", "files": pairs}
        assert (await call(http, "POST", f"{srv.url}/tfjs-models", b, doc))[0] == 403
        status, model = await call(http, "POST", f"{srv.url}/tfjs-models", a, doc)
        assert status == 201 and model["userId"] == a.id
        file_url = f"{srv.url}/tfjs-models/{model['_id']}/model.json"
        assert await call(http, "GET", file_url, a) == (200, {"modelTopology": {}})
        assert (await call(http, "GET", file_url, admin))[0] == 200
        assert (await call(http, "GET", file_url, b))[0] == 404
        assert (await call(http, "GET", file_url, anon))[0] == 404  # anonymous reads public records only
        # public: others may read it, still not change it or reuse its files
        assert (await call(http, "PATCH", f"{srv.url}/tfjs-models/{model['_id']}", a, {"public": True}))[0] == 200
        assert (await call(http, "GET", file_url, b))[0] == 200
        assert (await call(http, "GET", file_url, anon))[0] == 200
        assert (await call(http, "PUT", f"{srv.url}/tfjs-models/{model['_id']}", b, doc))[0] == 403
        assert (await call(http, "POST", f"{srv.url}/tfjs-models", b, doc))[0] == 403
        # the owner re-sends the files it already has: fine
        assert (await call(http, "PUT", f"{srv.url}/tfjs-models/{model['_id']}", a, {**doc, "public": True}))[0] == 200
        # an admin may build a document from anybody's upload, and its owner keep using those files
        status, given = await call(http, "POST", f"{srv.url}/tfjs-models", admin, {**doc, "userId": b.id})
        assert status == 201 and given["userId"] == b.id
        assert (await call(http, "PATCH", f"{srv.url}/tfjs-models/{given['_id']}", b, {"files": pairs}))[0] == 200
