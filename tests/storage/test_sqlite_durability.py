"""SQLite durability through a real ``plume serve``: restarts, crashes, 64 concurrent writers, shutdown under load.

"Acknowledged" means the client got the success status; every acknowledged write must be there
after the process is stopped (SIGTERM) or killed (SIGKILL) and started again on the same data dir.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.server import PlumeProcess

CONFIG = """
[services.items]
multi = true
paginate = { default = 100, max = 5000 }
"""
WRITERS = 64
PER_WRITER = 50
TIMEOUT = aiohttp.ClientTimeout(total=60)


async def fetch_all(http: aiohttp.ClientSession, url: str, path: str = "items") -> dict[str, dict[str, Any]]:
    """Every record of ``path`` by id (pages of 5,000)."""
    out: dict[str, dict[str, Any]] = {}
    skip = 0
    while True:
        async with http.get(f"{url}/{path}", params={"$limit": "5000", "$skip": str(skip),
                                                     "$sort[_id]": "1"}) as r:
            assert r.status == 200, await r.text()
            page = await r.json()
        out.update((d["_id"], d) for d in page["data"])
        skip += len(page["data"])
        if not page["data"] or skip >= page["total"]:
            return out


async def write_history(url: str) -> dict[str, dict[str, Any]]:
    """Creates, a multi create, updates, patches and removes; returns what must be stored afterwards."""
    expected: dict[str, dict[str, Any]] = {}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for i in range(100):
            async with http.post(f"{url}/items", json={"i": i, "text": f"record {i}", "nested": {"v": [i]}}) as r:
                assert r.status == 201
                rec = await r.json()
                expected[rec["_id"]] = rec
        async with http.post(f"{url}/items", json=[{"i": 100 + k, "batch": True} for k in range(50)]) as r:
            assert r.status == 201
            expected.update((rec["_id"], rec) for rec in await r.json())
        ids = sorted(expected)
        for key in ids[:20]:
            async with http.patch(f"{url}/items/{key}", json={"patched": True}) as r:
                assert r.status == 200
                expected[key] = await r.json()
        for key in ids[20:30]:
            async with http.put(f"{url}/items/{key}", json={"replaced": key}) as r:
                assert r.status == 200
                expected[key] = await r.json()
        for key in ids[30:40]:
            async with http.delete(f"{url}/items/{key}") as r:
                assert r.status == 200
                del expected[key]
        async with http.patch(f"{url}/items", params={"batch": "true"}, json={"bulk": 1}) as r:
            assert r.status == 200
            expected.update((rec["_id"], rec) for rec in await r.json())
    return expected


async def stored(url: str) -> dict[str, dict[str, Any]]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        return await fetch_all(http, url)


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
async def test_acknowledged_writes_survive_a_restart(tmp_path: Path, how: str) -> None:
    srv = PlumeProcess(tmp_path / "data", config=CONFIG).start()
    try:
        expected = await write_history(srv.url)
        if how == "sigterm":
            assert await asyncio.to_thread(srv.stop) == 0
        else:
            srv.kill()
        await asyncio.to_thread(srv.start)
        assert await stored(srv.url) == expected
        assert "Traceback" not in srv.log()
    finally:
        srv.stop()


async def test_64_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    srv = PlumeProcess(tmp_path / "data", config=CONFIG).start()
    try:
        conn = aiohttp.TCPConnector(limit=WRITERS)
        async with aiohttp.ClientSession(timeout=TIMEOUT, connector=conn) as http:

            async def writer(w: int) -> dict[str, dict[str, Any]]:
                mine: dict[str, dict[str, Any]] = {}
                for i in range(PER_WRITER):
                    async with http.post(f"{srv.url}/items", json={"w": w, "i": i, "pad": "x" * (i % 7)}) as r:
                        assert r.status == 201, await r.text()
                        rec = await r.json()
                        mine[rec["_id"]] = rec
                    if i % 5 == 4:  # patch one of our earlier records, concurrently with everyone's creates
                        key = list(mine)[i - 3]
                        async with http.patch(f"{srv.url}/items/{key}", json={"p": i}) as r:
                            assert r.status == 200, await r.text()
                            mine[key] = await r.json()
                return mine

            results = await asyncio.gather(*(writer(w) for w in range(WRITERS)))
            expected = {k: v for part in results for k, v in part.items()}
            assert len(expected) == WRITERS * PER_WRITER
            async with http.get(f"{srv.url}/items", params={"$limit": "0"}) as r:
                assert (await r.json())["total"] == WRITERS * PER_WRITER
            assert await fetch_all(http, srv.url) == expected
        srv.kill()  # and it is all on disk, not only in memory
        await asyncio.to_thread(srv.start)
        assert await stored(srv.url) == expected
        assert "Traceback" not in srv.log()
    finally:
        srv.stop()


async def test_sigterm_under_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    srv = PlumeProcess(tmp_path / "data", config=CONFIG).start()
    acknowledged: dict[str, dict[str, Any]] = {}
    refused = 0
    statuses: list[int] = []  # non-201 answers: none may be a 5xx
    try:
        conn = aiohttp.TCPConnector(limit=WRITERS)
        async with aiohttp.ClientSession(timeout=TIMEOUT, connector=conn) as http:
            stop = asyncio.Event()

            async def writer(w: int) -> None:
                nonlocal refused
                i = 0
                while not stop.is_set():
                    try:
                        async with http.post(f"{srv.url}/items", json={"w": w, "i": i}) as r:
                            if r.status == 201:
                                rec = await r.json()
                                acknowledged[rec["_id"]] = rec
                            else:
                                statuses.append(r.status)
                    except (TimeoutError, aiohttp.ClientError):
                        refused += 1  # not acknowledged: may or may not be stored
                        await asyncio.sleep(0.01)
                    i += 1

            tasks = [asyncio.create_task(writer(w)) for w in range(WRITERS)]
            while len(acknowledged) < 500:
                await asyncio.sleep(0.01)
            assert srv.proc is not None
            srv.proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(srv.proc.wait, 30)
            stop.set()
            await asyncio.gather(*tasks)
        assert not [s for s in statuses if s >= 500], statuses
        assert code == 0, srv.log()[-3000:]
        await asyncio.to_thread(srv.start)
        found = await stored(srv.url)
        missing = set(acknowledged) - set(found)
        assert not missing, f"{len(missing)} acknowledged writes lost"
        for key, rec in acknowledged.items():
            assert found[key] == rec
        assert "Traceback" not in srv.log()
    finally:
        srv.stop()
