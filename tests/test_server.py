"""App assembly: dynamic services and their whitelist, /info, configured options, 204 and 405."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from backend.hooks import Params
from tests.support.inprocess import running


async def test_whitelist_forbids_unlisted_dynamic_services(tmp_path: Path) -> None:
    async with running(tmp_path, config='services = ["allowed"]\n') as srv, aiohttp.ClientSession() as http:
        async with http.post(f"{srv.url}/allowed", json={"a": 1}) as r:
            assert r.status == 201
        async with http.get(f"{srv.url}/other") as r:
            body = await r.json()
            assert r.status == 403 and body["name"] == "Forbidden" and body["message"] == "Service is unauthorized"
        async with http.get(f"{srv.url}/info") as r:
            assert "allowed" in (await r.json())["services"] and "other" not in srv.app.services


async def test_indexes_from_config_are_used(tmp_path: Path) -> None:
    config = '[services.metrics]\nindexes = ["run", ["createdAt", -1]]\n'
    async with running(tmp_path, config=config) as srv:
        adapter = srv.app.service("metrics").store
        plan = await adapter.db.read(lambda c: c.execute(
            "EXPLAIN QUERY PLAN SELECT doc FROM svc_metrics WHERE json_extract(doc, '$.\"run\"') = 'x'").fetchall())
        assert any("USING INDEX" in str(row) for row in plan), plan


class Falsy:
    async def find(self, params: Params) -> Any:
        return []

    async def get(self, id: Any, params: Params) -> Any:
        return None


async def test_rest_204_for_falsy_results_and_405_for_missing_methods(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        await srv.app.use("falsy", Falsy())
        async with http.get(f"{srv.url}/falsy/1") as r:
            assert r.status == 204 and await r.read() == b""
        async with http.get(f"{srv.url}/falsy") as r:
            assert r.status == 200 and await r.json() == []  # [] is truthy in JavaScript
        async with http.post(f"{srv.url}/falsy", json={}) as r:
            body = await r.json()
            assert r.status == 405 and body["message"] == "Method `create` is not supported by this endpoint."
        async with http.request("PURGE", f"{srv.url}/falsy") as r:
            assert r.status == 405 and (await r.json())["name"] == "MethodNotAllowed"
        async with http.get(f"{srv.url}/a/b/c/d/e") as r:
            assert r.status == 404 and (await r.json())["name"] == "NotFound"


async def test_dynamic_service_takes_configured_options(tmp_path: Path) -> None:
    async with running(tmp_path, config="[services.flat]\npaginate = false\n") as srv, aiohttp.ClientSession() as h:
        async with h.get(f"{srv.url}/flat") as r:
            assert await r.json() == []
