"""Two ``plume serve`` on one SQLite file: events fanned out through Redis, no lost or raced writes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.support.redis import needs_redis, two_processes


async def listen(url: str, events: list[tuple[str, Any]]) -> socketio.AsyncClient:
    sio = socketio.AsyncClient()
    sio.on("*", lambda event, data=None: events.append((event, data)))
    await sio.connect(url, transports=["websocket"])
    return sio


@needs_redis
def test_events_cross_processes_and_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    with two_processes(tmp_path) as (a, b):
        asyncio.run(_scenario(a.url, b.url))


async def _scenario(url_a: str, url_b: str) -> None:
    on_a: list[tuple[str, Any]] = []
    on_b: list[tuple[str, Any]] = []
    sio_a, sio_b = await listen(url_a, on_a), await listen(url_b, on_b)
    try:
        async with aiohttp.ClientSession() as http:
            # A write on each process reaches the listeners of both.
            async with http.post(f"{url_a}/notes", json={"from": "a"}) as r:
                rec_a = await r.json()
            async with http.patch(f"{url_b}/notes/{rec_a['_id']}", json={"seen": "b"}) as r:
                assert r.status == 200

            # 64 concurrent writers spread over both processes.
            async def writer(i: int) -> list[str]:
                url = url_a if i % 2 else url_b
                ids = []
                for j in range(10):
                    async with http.post(f"{url}/load", json={"w": i, "j": j}) as r:
                        assert r.status == 201, await r.text()
                        ids.append((await r.json())["_id"])
                return ids

            written = [x for ids in await asyncio.gather(*(writer(i) for i in range(64))) for x in ids]

            # A patch with id + query is one test-and-write: of 32 claims over both processes, one wins.
            async with http.post(f"{url_a}/claims", json={"job": "x", "owner": None}) as r:
                job = await r.json()

            async def claim(i: int) -> int:
                url = url_a if i % 2 else url_b
                async with http.patch(f"{url}/claims/{job['_id']}", params={"owner": "null"}, json={"owner": i}) as r:
                    assert r.status in (200, 404), await r.text()
                    return r.status

            statuses = await asyncio.gather(*(claim(i) for i in range(32)))
            assert statuses.count(200) == 1, statuses
            async with http.get(f"{url_a}/load", params={"$limit": "0"}) as r:
                assert (await r.json())["total"] == 640
            async with http.get(f"{url_b}/load", params={"$limit": "1000"}) as r:
                assert sorted(d["_id"] for d in (await r.json())["data"]) == sorted(written)

        for events in (on_a, on_b):
            deadline = asyncio.get_running_loop().time() + 20
            while sum(e == "load created" for e, _ in events) < 640:
                assert asyncio.get_running_loop().time() < deadline, "events missing"
                await asyncio.sleep(0.05)
            notes = [(e, d) for e, d in events if e.startswith("notes")]
            assert [e for e, _ in notes] == ["notes created", "notes patched"]
            assert notes[1][1]["seen"] == "b" and notes[0][1] == rec_a
            created = [d["_id"] for e, d in events if e == "load created"]
            assert sorted(created) == sorted(written)  # each event exactly once per listener
    finally:
        await sio_a.disconnect()
        await sio_b.disconnect()
