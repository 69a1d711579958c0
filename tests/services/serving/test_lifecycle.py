"""Endpoint lifecycle: stop, start, reload on a new configuration, remove, replicas, and endpoints
that come back after a restart."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from services.serving import Deployments
from tests.support.inprocess import running

from .support import EndpointWatcher, create_endpoint, predict, upload_onnx

ROWS = {"instances": [[0.5, -1.0, 2.0, 0.0]]}


async def test_stop_start_reload_remove(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        await create_endpoint(http, srv.url, watch, "ep", doc["_id"], replicas=2)
        deployments = srv.app.extensions.get(Deployments)
        assert len(deployments.loaded["ep"].sessions) == 2
        status, first = await predict(http, srv.url, "ep", ROWS)
        assert status == 200
        after = watch.seen("ep")
        async with http.patch(f"{srv.url}/endpoints/ep", json={"status": "stopped"}) as r:
            assert r.status == 200 and (await r.json())["status"] == "stopped"
        assert "ep" not in deployments.loaded
        status, body = await predict(http, srv.url, "ep", ROWS)
        assert status == 409 and "is stopped" in body["message"]
        async with http.patch(f"{srv.url}/endpoints/ep", json={"status": "creating"}) as r:
            assert r.status == 200
        assert (await watch.status("ep", ("ready",), after=after + 1))["status"] == "ready"
        assert await predict(http, srv.url, "ep", ROWS) == (200, first)
        # A new configuration reloads it
        after = watch.seen("ep")
        async with http.patch(f"{srv.url}/endpoints/ep", json={"replicas": 1, "description": "one"}) as r:
            assert (await r.json())["status"] == "creating"
        await watch.status("ep", ("ready",), after=after + 1)
        assert len(deployments.loaded["ep"].sessions) == 1
        async with http.delete(f"{srv.url}/endpoints/ep") as r:
            assert r.status == 200
        assert "ep" not in deployments.loaded
        status, body = await predict(http, srv.url, "ep", ROWS)
        assert status == 404


async def test_endpoints_come_back_after_a_restart(tmp_path: Path, onnx_files: dict[str, Path]) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http, EndpointWatcher(srv.url) as watch:
        doc = await upload_onnx(http, srv.url, onnx_files["mlp"], "mlp")
        await create_endpoint(http, srv.url, watch, "kept", doc["_id"])
        await create_endpoint(http, srv.url, watch, "halted", doc["_id"])
        async with http.patch(f"{srv.url}/endpoints/halted", json={"status": "stopped"}) as r:
            assert r.status == 200
        status, before = await predict(http, srv.url, "kept", ROWS)
        assert status == 200
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        # Loading at start: a prediction waits for it
        assert await predict(http, srv.url, "kept", ROWS) == (200, before)
        status, body = await predict(http, srv.url, "halted", ROWS)
        assert status == 409 and "is stopped" in body["message"]
        async with http.get(f"{srv.url}/endpoints/kept") as r:
            assert (await r.json())["status"] == "ready"
