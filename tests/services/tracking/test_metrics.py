"""``metrics``: bulk upserts by (run, type, key, step), normalised types, the history read, refusals."""

from __future__ import annotations

import math
from pathlib import Path

import aiohttp

from tests.auth.support import auth_server
from tests.conformance.clients import SocketClient
from tests.support.inprocess import running

from .support import Http, new_run, points


async def test_bulk_create_normalises_types_and_pages_in_step_order(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http))["_id"]
        batch = points(run, 3000, kind="training")[::-1]  # sent backwards: read back in step order
        status, written = await http("POST", "/metrics", batch)
        assert status == 201 and len(written) == 3000 and {p["type"] for p in written} == {"train"}
        for alias, kind in (("validation", "val"), ("eval", "test"), ("custom", "custom")):
            status, _ = await http("POST", "/metrics", points(run, 2, kind=alias))
            assert status == 201
            status, page = await http("GET", f"/metrics?run={run}&type={kind}&$limit=0")
            assert page["total"] == 2, kind
        seen = []
        for skip in range(0, 3000, 1000):
            status, page = await http("GET", f"/metrics?run={run}&type=training&key=loss&$sort[step]=1"
                                             f"&$limit=1000&$skip={skip}")
            assert status == 200 and page["total"] == 3000
            seen += [p["step"] for p in page["data"]]
        assert seen == list(range(3000))
        status, page = await http("GET", f"/metrics?run={run}&type=train&key=loss&step[$gte]=2990&$sort[step]=1")
        assert [p["step"] for p in page["data"]] == list(range(2990, 3000))
        assert page["data"][0]["value"] == 1 / 2991 and page["data"][0]["epoch"] == 299


async def test_a_batch_sent_twice_writes_nothing_twice(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http))["_id"]
        sio = await SocketClient(srv.url).connect()
        try:
            assert (await http("POST", "/metrics", points(run, 50)))[0] == 201
            await sio.wait_events(51)  # 50 points, and their series' record (metric-series, the dashboard's)
            status, again = await http("POST", "/metrics", points(run, 50))
            assert status == 201 and again == []  # nothing changed: nothing written
            changed = points(run, 1, start=7, value=42.0)
            status, written = await http("POST", "/metrics", changed)  # the same step, another value: replaced
            assert [p["value"] for p in written] == [42.0]
            # The replacement's event comes right after the first 50 points' (an earlier step leaves the
            # series' record as it is):
            events = [e for e in await sio.wait_events(52) if e[0].startswith("metrics ")]
            assert len(events) == 51  # the batch sent again emitted none
            assert events[50][0] == "metrics created" and events[50][1]["value"] == 42.0
        finally:
            await sio.close()
        status, page = await http("GET", f"/metrics?run={run}&$limit=0")
        assert page["total"] == 50
        status, page = await http("GET", f"/metrics?run={run}&step=7")
        assert [p["value"] for p in page["data"]] == [42.0]


async def test_a_log_call_item_stands_for_one_point_per_metric(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http))["_id"]
        entry = {"run": run, "type": "val", "step": 3, "epoch": 0, "timestamp": "t", "metrics": {"loss": 0.5, "acc": 1}}
        status, written = await http("POST", "/metrics", [entry])
        assert status == 201 and sorted((p["key"], p["value"]) for p in written) == [("acc", 1), ("loss", 0.5)]
        status, err = await http("POST", "/metrics", [{**entry, "metrics": {"loss": "high"}}])
        assert status == 400 and "0.value" in err["errors"]


async def test_downsampled_history_keeps_first_last_min_and_max(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http))["_id"]
        values = [math.sin(i / 300) for i in range(20_000)]
        values[12_345], values[777] = 5.0, -5.0  # one spike each way
        for start in range(0, 20_000, 5000):
            batch = [{"run": run, "type": "train", "key": "loss", "step": i, "value": values[i]}
                     for i in range(start, start + 5000)]
            assert (await http("POST", "/metrics", batch))[0] == 201
        status, page = await http("GET", f"/metrics?run={run}&type=training&key=loss&$downsample=500")
        assert status == 200 and page["total"] == 20_000 and page["downsampled"] is True
        steps = [p["step"] for p in page["data"]]
        assert len(steps) <= 500 and steps == sorted(steps)
        assert {0, 19_999, 12_345, 777} <= set(steps)
        assert all(p["value"] == values[p["step"]] for p in page["data"])
        # A window of steps, and a series shorter than n: every point.
        status, page = await http("GET", f"/metrics?run={run}&type=train&key=loss&step[$gte]=100&step[$lt]=150"
                                         "&$downsample=500")
        assert page["total"] == 50 and [p["step"] for p in page["data"]] == list(range(100, 150))
        assert page["downsampled"] is False


async def test_the_history_index_is_rebuilt_when_out_of_step(tmp_path: Path) -> None:
    """A process that died between writing points and indexing them: the reader rebuilds the index."""
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http))["_id"]
        assert (await http("POST", "/metrics", points(run, 100)))[0] == 201
        metrics = srv.app.service("metrics").store
        extra = [{**p, "_id": f"{p['step']:024x}"} for p in points(run, 20, start=100)]
        await metrics._insert(extra)  # written behind the hooks' back: the index does not know them
        status, page = await http("GET", f"/metrics?run={run}&type=train&key=loss&$downsample=1000")
        assert status == 200 and page["total"] == 120 and len(page["data"]) == 120


async def test_bad_input_is_a_400_and_nothing_is_written(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http))["_id"]
        good = points(run, 10)
        bad_points = {
            "non-number value": {"value": "0.5"},
            "boolean value": {"value": True},
            "negative step": {"step": -1},
            "fractional step": {"step": 1.5},
            "huge name": {"key": "k" * 100_000},
            "no type": {"type": ""},
            "unknown run": {"run": "ffffffffffffffffffffffff"},
        }
        for why, change in bad_points.items():
            status, err = await http("POST", "/metrics", [*good, {**good[0], "step": 99, **change}])
            assert status == 400, (why, err)
        for why, raw in {"NaN": b'[{"run": "%s", "type": "t", "key": "k", "step": 1, "value": NaN}]',
                         "Infinity": b'[{"run": "%s", "type": "t", "key": "k", "step": 1, "value": Infinity}]'}.items():
            status, err = await http("POST", "/metrics", raw=raw.replace(b"%s", run.encode()))
            assert status == 400, (why, err)
        status, err = await http("POST", "/metrics", points(run, 1, key="k" * (11 * 1024 * 1024)))
        assert status == 413, err  # a 10 MB name: past the body limit
        status, page = await http("GET", "/metrics?$limit=0")
        assert page["total"] == 0
        status, err = await http("GET", f"/metrics?run={run}&type=train&$downsample=10")
        assert status == 400 and "key" in err["errors"]
        for query in ("$downsample=2", "$downsample=many", "$downsample=10&value=1"):
            status, err = await http("GET", f"/metrics?run={run}&type=train&key=loss&{query}")
            assert status == 400, (query, err)
        status, err = await http("POST", "/metrics", points(run, 10_001))
        assert status == 413
        status, err = await http("PATCH", "/metrics/abc", {"value": 1})
        assert status == 405


async def test_removing_a_run_removes_its_metrics(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        kept, gone = (await new_run(http, name="a"))["_id"], (await new_run(http, name="b"))["_id"]
        for run in (kept, gone):
            assert (await http("POST", "/metrics", points(run, 30)))[0] == 201
        assert (await http("DELETE", f"/runs/{gone}"))[0] == 200
        assert (await http("GET", f"/metrics?run={gone}&$limit=0"))[1]["total"] == 0
        assert (await http("GET", f"/metrics?run={kept}&$limit=0"))[1]["total"] == 30
        status, page = await http("GET", f"/metrics?run={gone}&type=train&key=loss&$downsample=10")
        assert status == 200 and page["data"] == []


async def test_marcelle_runs_logs_become_metric_points(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = await new_run(http, basename="mlp", status="start", logs={})
        logs = {"loss": [0.9, 0.5], "val_loss": [1.0, None], "accuracy": [0.1, 0.6]}
        assert (await http("PATCH", f"/runs/{run['_id']}", {"status": "epoch", "logs": logs}))[0] == 200
        _status, page = await http("GET", f"/metrics?run={run['_id']}&$sort[type]=1&$sort[key]=1&$sort[step]=1")
        got = [(p["type"], p["key"], p["step"], p["value"]) for p in page["data"]]
        assert got == [("train", "accuracy", 0, 0.1), ("train", "accuracy", 1, 0.6), ("train", "loss", 0, 0.9),
                       ("train", "loss", 1, 0.5), ("val", "loss", 0, 1.0)]


async def test_an_answer_with_ids_only_still_sends_whole_points_as_events(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as s:
        http = Http(s, srv.url)
        run = (await new_run(http))["_id"]
        sio = await SocketClient(srv.url).connect()
        try:
            status, answer = await http("POST", "/metrics?$select[]=_id", points(run, 3))
            assert status == 201 and all(set(p) == {"_id"} for p in answer)
            events = await sio.wait_events(3)
            assert sorted(e[1]["step"] for e in events) == [0, 1, 2] and all("value" in e[1] for e in events)
        finally:
            await sio.close()
        status, page = await http("GET", f"/metrics?run={run}&type=train&key=loss&$downsample=10")
        assert page["total"] == 3  # indexed all the same


async def test_the_downsampled_history_shows_only_what_the_caller_may_read(tmp_path: Path) -> None:
    async with auth_server(tmp_path) as (srv, actors), aiohttp.ClientSession() as s:
        a, b = Http(s, srv.url, actors["editorA"].token), Http(s, srv.url, actors["editorB"].token)
        run = (await new_run(a))["_id"]
        assert (await a("POST", "/metrics", points(run, 200)))[0] == 201
        assert (await b("POST", "/metrics", points(run, 10, start=500)))[0] == 403  # not B's run
        query = f"/metrics?run={run}&type=train&key=loss&$downsample=50"
        status, mine = await a("GET", query)
        assert status == 200 and mine["total"] == 200 and len(mine["data"]) <= 50
        status, theirs = await b("GET", query)
        assert status == 200 and theirs["total"] == 0 and theirs["data"] == []
        status, anonymous = await Http(s, srv.url)("GET", query)  # anonymous callers read public records only
        assert status == 200 and anonymous["total"] == 0
