"""``metric-series``: each run's curves with their last point, kept from the metrics written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from backend.hooks import Params
from services.dashboard.series import PATH, series_record_id
from tests.auth.support import AuthRestClient, auth_server
from tests.support.inprocess import running


async def call(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kw) as r:
        return r.status, await r.json()


async def series_of(http: aiohttp.ClientSession, url: str, run: str) -> dict[str, dict[str, Any]]:
    status, page = await call(http, "GET", f"{url}/{PATH}", params={"run": run})
    assert status == 200, page
    return {f"{s['type']}/{s['key']}": s for s in page["data"]}


async def test_series_follow_the_points_written(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        _, run = await call(http, "POST", f"{srv.url}/runs", json={"name": "r"})
        rid = run["_id"]
        points = [{"run": rid, "type": "training", "key": "loss", "step": s, "value": 1 / (s + 1)} for s in range(5)]
        points += [{"run": rid, "type": "val", "step": 4, "epoch": 1, "metrics": {"loss": 0.4, "acc": 0.9}}]
        status, _ = await call(http, "POST", f"{srv.url}/metrics", json=points)
        assert status == 201
        found = await series_of(http, srv.url, rid)
        assert sorted(found) == ["train/loss", "val/acc", "val/loss"]
        assert found["train/loss"]["step"] == 4 and found["train/loss"]["value"] == 0.2
        assert found["val/acc"] == {**found["val/acc"], "run": rid, "step": 4, "epoch": 1, "value": 0.9}
        assert found["train/loss"]["_id"] == series_record_id(rid, "train", "loss")

        # An earlier step written late does not move the last point back; a later one does.
        await call(http, "POST", f"{srv.url}/metrics", json={"run": rid, "type": "train", "key": "loss", "step": 2,
                                                              "value": 7.0})
        assert (await series_of(http, srv.url, rid))["train/loss"]["value"] == 0.2
        await call(http, "POST", f"{srv.url}/metrics", json={"run": rid, "type": "train", "key": "loss", "step": 9,
                                                              "value": 0.05})
        assert (await series_of(http, srv.url, rid))["train/loss"]["step"] == 9

        # A Marcelle run's logs are points too, so they have series.
        _, marcelle = await call(http, "POST", f"{srv.url}/runs", json={"name": "m", "logs": {"loss": [0.5, 0.3],
                                                                                              "val_loss": [0.6]}})
        found = await series_of(http, srv.url, marcelle["_id"])
        assert {k: (v["step"], v["value"]) for k, v in found.items()} == {"train/loss": (1, 0.3),
                                                                          "val/loss": (0, 0.6)}

        # Points removed: the series shows the last one left, or goes.
        await call(http, "DELETE", f"{srv.url}/metrics", params={"run": rid, "type": "train", "step[$gte]": "4"})
        assert (await series_of(http, srv.url, rid))["train/loss"]["step"] == 3
        await call(http, "DELETE", f"{srv.url}/metrics", params={"run": rid, "type": "val", "key": "acc"})
        assert sorted(await series_of(http, srv.url, rid)) == ["train/loss", "val/loss"]

        # Clients only read; the series go with their run.
        for method in ("POST", "PATCH", "PUT", "DELETE"):
            sid = series_record_id(rid, "train", "loss")
            url = f"{srv.url}/{PATH}" + ("" if method == "POST" else f"/{sid}")
            status, err = await call(http, method, url, json={"run": rid})
            assert status == 405 and err["name"] == "MethodNotAllowed", (method, err)
        await call(http, "DELETE", f"{srv.url}/runs/{rid}")
        assert await series_of(http, srv.url, rid) == {}
        assert len(await series_of(http, srv.url, marcelle["_id"])) == 2


async def test_series_of_points_written_before_are_made_on_first_read(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        _, run = await call(http, "POST", f"{srv.url}/runs", json={"name": "old"})
        rid = run["_id"]
        await call(http, "POST", f"{srv.url}/metrics", json=[
            {"run": rid, "type": t, "key": k, "step": s, "value": s} for t in ("train", "test") for k in ("a", "b")
            for s in range(3)])
        series = srv.app.service(PATH)
        await series.store._delete([s["_id"] for s in await series.find(Params(query={"run": rid},
                                                                               extra={"paginate": False}))])
        found = await series_of(http, srv.url, rid)
        assert sorted(found) == ["test/a", "test/b", "train/a", "train/b"]
        assert all(s["step"] == 2 and s["value"] == 2 for s in found.values())


async def test_series_obey_their_runs_permissions(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors):
        editor = AuthRestClient(srv.url, actors["editorA"].token)
        viewer = AuthRestClient(srv.url, actors["viewer"].token)
        try:
            run = await editor.call("create", "runs", {"name": "mine"})
            await editor.call("create", "metrics", {"run": run["_id"], "type": "train", "key": "loss", "step": 0,
                                                    "value": 1.0})
            mine = await editor.call("find", PATH, {"run": run["_id"]})
            assert [s["key"] for s in mine["data"]] == ["loss"]
            assert mine["data"][0]["userId"] == actors["editorA"].id
            assert (await viewer.call("find", PATH, {"run": run["_id"]}))["total"] == 0
            await editor.call("patch", "runs", run["_id"], {"public": True})  # the series follow their run
            assert (await viewer.call("find", PATH, {"run": run["_id"]}))["total"] == 1
            await editor.call("patch", "runs", run["_id"], {"public": False})
            assert (await viewer.call("find", PATH, {"run": run["_id"]}))["total"] == 0
        finally:
            await editor.close()
            await viewer.close()
