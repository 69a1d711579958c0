"""Helpers for the serving tests: model uploads, endpoints, and waiting for their status by events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.services.files.support import post_form

READY = ("ready", "failed")


async def upload_onnx(http: aiohttp.ClientSession, url: str, path: Path, name: str,
                      metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Upload ``path`` to ``onnx-models`` and create its document; the document."""
    status, files = await post_form(http, f"{url}/onnx-models/upload", ("model.onnx", path.name, path.read_bytes()))
    assert status == 200, files
    body = {"name": name, "format": "onnx", "files": files, **({"metadata": metadata} if metadata else {})}
    async with http.post(f"{url}/onnx-models", json=body) as r:
        assert r.status == 201, await r.text()
        return await r.json()  # type: ignore[no-any-return]


class EndpointWatcher:
    """A socket.io client recording ``endpoints`` events, to wait for a status without sleeping."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient()
        self.docs: dict[str, list[dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        for event in ("created", "patched", "updated"):
            self.sio.on(f"endpoints {event}", self._record)

    async def _record(self, doc: dict[str, Any]) -> None:
        self.docs.setdefault(doc["_id"], []).append(doc)
        self._changed.set()

    async def __aenter__(self) -> EndpointWatcher:
        await self.sio.connect(self.url, transports=["websocket"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sio.disconnect()

    def seen(self, name: str) -> int:
        """How many events of ``name`` arrived so far (pass it as ``after`` to wait for a later one)."""
        return len(self.docs.get(name, []))

    async def status(self, name: str, wanted: tuple[str, ...] = READY, *, after: int = 0,
                     timeout: float = 120) -> dict[str, Any]:
        """The first event of endpoint ``name`` (from the ``after``-th on) whose status is in ``wanted``."""

        async def wait() -> dict[str, Any]:
            while True:
                for doc in self.docs.get(name, [])[after:]:
                    if doc.get("status") in wanted:
                        return doc
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    def statuses(self, name: str) -> list[str]:
        return [doc["status"] for doc in self.docs.get(name, [])]


async def create_endpoint(http: aiohttp.ClientSession, url: str, watcher: EndpointWatcher, name: str,
                          model: str, **fields: Any) -> dict[str, Any]:
    """Create endpoint ``name`` on ``model`` and wait until it is ready (or failed)."""
    async with http.post(f"{url}/endpoints", json={"name": name, "model": model, **fields}) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
        assert created["status"] == "creating"
    return await watcher.status(name)


async def predict(http: aiohttp.ClientSession, url: str, name: str, body: Any) -> tuple[int, Any]:
    """``POST /endpoints/<name>/predict``: (status, JSON body)."""
    async with http.post(f"{url}/endpoints/{name}/predict", json=body) as r:
        return r.status, await r.json(content_type=None)
