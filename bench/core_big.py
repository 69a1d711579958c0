"""The 1M-record part of ``bench/bench_core.py``: fill through the SQLite adapter, the p50 of a find
with filter + sort + ``$limit`` over REST, and SQLite's plan for it."""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

BIG_GROUPS = 1000


async def fill_big(data: Path, count: int) -> float:
    """Insert ``count`` records into service ``big`` through the SQLite adapter, in batches."""
    from backend.config import load_settings
    from backend.storage import open_storage
    from backend.storage.base import new_id

    cfg = data.parent / "plume.toml"
    settings = load_settings(cfg, {"data_dir": str(data)}, environ={})
    storage = open_storage(settings.database_url)
    adapter = storage.adapter("big", settings.adapter_options("big"))
    await adapter.setup(None, "big")
    rnd = random.Random(7)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    t0 = time.perf_counter()
    batch = 20_000
    for start in range(0, count, batch):
        records = [{"_id": new_id(), "name": f"record {i}", "group": f"g{i % BIG_GROUPS}",
                    "n": rnd.randrange(1_000_000), "score": rnd.random(), "createdAt": now, "updatedAt": now}
                   for i in range(start, min(count, start + batch))]
        await adapter._insert(records)  # the adapter primitive: no per-record hooks or events
    await storage.close()
    return time.perf_counter() - t0


def query_plan(db_file: Path) -> list[str]:
    """SQLite's plan for the SQL the adapter issues for ``group = ? ORDER BY n DESC LIMIT 10``."""
    from backend.query import Cmp
    from backend.storage.sql import SqlBuilder

    b = SqlBuilder("_id")
    where = b.where(Cmp(("group",), "$eq", "g42"))
    sql = f'SELECT doc FROM "svc_big" WHERE {where} {b.order_by([(("n",), -1)])} LIMIT 10 OFFSET 0'
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, b.params).fetchall()
        count_rows = conn.execute(f'EXPLAIN QUERY PLAN SELECT count(*) FROM "svc_big" WHERE {where}',
                                  b.params).fetchall()
    return [sql, *(f"  rows:  {r[-1]}" for r in rows), *(f"  count: {r[-1]}" for r in count_rows)]


async def big_p50(url: str, requests: int = 300) -> tuple[float, int]:
    """p50 latency (ms) of sequential finds with filter + sort + $limit over REST."""
    times = []
    async with aiohttp.ClientSession() as http:
        for i in range(requests + 20):
            params = {"group": f"g{(i * 37) % BIG_GROUPS}", "$sort[n]": "-1", "$limit": "10"}
            t0 = time.perf_counter()
            async with http.get(f"{url}/big", params=params) as r:
                body = await r.json()
            if i >= 20:
                times.append((time.perf_counter() - t0) * 1000)
            assert r.status == 200 and len(body["data"]) == 10, body
            ns = [d["n"] for d in body["data"]]
            assert ns == sorted(ns, reverse=True)
    return statistics.median(times), body["total"]


