"""The embedded queue: answers, expiry after result_ttl, and requests a stopped server left."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from backend.hooks import Params
from tests.conformance.clients import SocketClient
from tests.support.inprocess import running

from .support import EndpointWatcher, create_endpoint, upload_onnx

CONFIG = "[serving]\nresult_ttl = 0.5\nclaim_idle = 0.5\n"


async def _event(sio: SocketClient, name: str, count: int = 1, timeout: float = 30) -> list[Any]:
    async def wait() -> list[Any]:
        while len(found := [d for e, d in sio.events if e == name]) < count:
            await asyncio.sleep(0.01)
        return found

    return await asyncio.wait_for(wait(), timeout)


async def test_answers_expire(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path, config=CONFIG) as srv, aiohttp.ClientSession() as http, \
            EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        await create_endpoint(http, srv.url, watch, "mlp", doc["_id"])
        sio = await SocketClient(srv.url).connect()
        try:
            async with http.post(f"{srv.url}/serving-requests", json={"uri": "a", "endpoint": "mlp",
                                                                      "inputs": {"x": [1, 2, 3, 4]}}) as r:
                assert r.status == 201 and (await r.json())["status"] == "queued"
            async with http.post(f"{srv.url}/serving-requests", json={"uri": "b", "endpoint": "nope",
                                                                      "inputs": {"x": [1]}}) as r:
                assert r.status == 404
            created = (await _event(sio, "serving-results created"))[0]
            assert created["uri"] == "a" and created["status"] == "done" and len(created["result"]) == 3
            assert (await _event(sio, "serving-requests removed"))[0]["uri"] == "a"
            removed = (await _event(sio, "serving-results removed"))[0]  # result_ttl passed
            assert removed["uri"] == "a"
        finally:
            await sio.close()


async def test_requests_left_by_a_stopped_server_are_answered(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        await create_endpoint(http, srv.url, watch, "mlp", doc["_id"])
        # As a server that stopped before answering leaves it (written through the adapter: no hooks)
        await srv.app.service("serving-requests").store.create(
            {"uri": "left", "endpoint": "mlp", "inputs": {"x": [1, 2, 3, 4]}, "status": "queued",
             "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}, Params())
    async with running(tmp_path) as srv:
        sio = await SocketClient(srv.url).connect()
        try:
            store = srv.app.service("serving-results").store
            found = await store.find(Params(query={"uri": "left"}, extra={"paginate": False}))
            if not found:
                await _event(sio, "serving-results created")
                found = await store.find(Params(query={"uri": "left"}, extra={"paginate": False}))
            assert found[0]["status"] == "done"
            assert await srv.app.service("serving-requests").store.find(Params(extra={"paginate": False})) == []
        finally:
            await sio.close()
