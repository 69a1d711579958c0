"""The asyncio flavour: the same API against an in-process server (methods, errors, paging, files, events)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from python_client import AsyncDataStore
from python_client.errors import BadRequest, NotFound
from python_client.multipart import FilePart
from tests.support.inprocess import Running


async def test_methods_errors_and_items(server: Running, name: str) -> None:
    async with AsyncDataStore(server.url) as store:
        svc = store.service(name)
        ann = await svc.create({"name": "Ann", "age": 31})
        assert (await svc.get(ann["_id"]))["age"] == 31
        assert (await svc.patch(ann["_id"], {"age": 32}))["age"] == 32
        assert "age" not in await svc.update(ann["_id"], {"name": "Ann"})
        for i in range(9):
            await svc.create({"i": i})
        assert [r["i"] async for r in svc.items({"i": {"$gte": 0}}, page_size=2)] == list(range(9))
        assert [r["i"] async for r in svc.items({"$sort": {"i": -1}, "i": {"$lt": 3}})] == [2, 1, 0]
        assert (await svc.find({"query": {"$limit": 0}}))["total"] == 10
        assert (await svc.remove(ann["_id"]))["name"] == "Ann"
        with pytest.raises(NotFound):
            await svc.get(ann["_id"])
        with pytest.raises(BadRequest):
            await svc.find({"query": {"$regex": "x"}})
        assert name in (await store.info())["services"]


async def test_upload_and_download(server: Running, tmp_path: Path) -> None:
    src = tmp_path / "sound.wav"
    src.write_bytes(b"RIFF" + bytes(5000))
    async with AsyncDataStore(server.url) as store:
        reply = await store.service("assets").upload([FilePart.of(src, content_type="audio/wav")])
        folder, field = reply["sound.wav"].split("/")
        got = await store.service("assets").download(folder, field, tmp_path / "copy.wav")
        assert got.read_bytes() == src.read_bytes()


async def test_realtime_with_sync_and_async_callbacks(server: Running, name: str) -> None:
    seen: list[tuple[str, Any]] = []
    done = asyncio.Event()

    async def on_removed(record: Any) -> None:
        seen.append(("removed", record["i"]))
        done.set()

    async with AsyncDataStore(server.url) as listener, AsyncDataStore(server.url) as writer:
        svc = listener.service(name)
        await svc.on("created", lambda record: seen.append(("created", record["i"])))
        await svc.on("removed", on_removed)
        rec = await writer.service(name).create({"i": 1})
        await writer.service(name).remove(rec["_id"])
        await asyncio.wait_for(done.wait(), 10)
        assert seen == [("created", 1), ("removed", 1)]
        assert listener.realtime.connected and not listener.realtime.server_auth
