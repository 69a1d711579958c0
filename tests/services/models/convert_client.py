"""Drive a Keras conversion through a running server like a browser app would (REST + socket.io)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.services.files.support import post_form

FINISHED = ("done", "error")


class KerasWatcher:
    """A socket.io client recording every ``keras-models patched`` event, per document."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient()
        self.events: dict[str, list[dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self.sio.on("keras-models patched", self._on_patched)

    async def _on_patched(self, doc: dict[str, Any]) -> None:
        self.events.setdefault(doc["_id"], []).append(doc)
        self._changed.set()

    async def __aenter__(self) -> KerasWatcher:
        await self.sio.connect(self.url, transports=["websocket"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sio.disconnect()

    async def finished(self, doc_id: str, timeout: float = 240) -> dict[str, Any]:
        """The first patched version of ``doc_id`` whose conversions have all ended."""

        async def wait() -> dict[str, Any]:
            while True:
                for doc in self.events.get(doc_id, []):
                    if all(c["status"] in FINISHED for c in doc["conversions"].values()):
                        return doc
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    def statuses(self, doc_id: str, target: str) -> list[str]:
        """The ``conversions.<target>.status`` values seen, in order, without repeats."""
        seen: list[str] = []
        for doc in self.events.get(doc_id, []):
            status = doc["conversions"][target]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
        return seen


async def submit(http: aiohttp.ClientSession, url: str, path: Path, **extra: Any) -> dict[str, Any]:
    """Upload a ``.keras``/``.h5`` file and create its ``keras-models`` document."""
    status, pairs = await post_form(http, f"{url}/keras-models/upload", (f"model{path.suffix}", path.name,
                                                                          path.read_bytes()))
    assert status == 200, pairs
    async with http.post(f"{url}/keras-models", json={"name": path.stem, "files": pairs, **extra}) as r:
        doc = await r.json()
        assert r.status == 201, doc
    return doc


async def fetch_model(http: aiohttp.ClientSession, url: str, service: str, model_id: str, into: Path) -> dict:
    """Download every file of a model document into ``into`` (named as TF.js will ask for them)."""
    async with http.get(f"{url}/{service}/{model_id}") as r:
        doc = await r.json()
    into.mkdir(parents=True, exist_ok=True)
    for name, _ in doc["files"]:
        async with http.get(f"{url}/{service}/{model_id}/{name}") as r:
            assert r.status == 200, name
            (into / name).write_bytes(await r.read())
    return doc
