"""One call interface over both transports, so each conformance test runs through the wire twice."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import qs_codec
import socketio

from backend.service import METHODS


class CallError(Exception):
    """A Feathers error as a client received it."""

    def __init__(self, payload: dict[str, Any], status: int | None = None) -> None:
        super().__init__(payload.get("message"))
        self.payload = payload
        self.name = payload.get("name")
        self.code = payload.get("code")
        self.status = status


class RestClient:
    """Feathers REST over aiohttp; queries encoded like the JS clients (indexed, percent-encoded)."""

    transport = "rest"

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession()

    async def call(self, method: str, path: str, *args: Any) -> Any:
        spec = METHODS[method]
        values = dict(zip([*spec.args, "query"], args, strict=False))
        query = values.get("query") or {}
        url = f"{self.url}/{path}"
        if values.get("id") is not None:
            url += f"/{values['id']}"
        qs = qs_codec.encode(_nulls_as_text(query), qs_codec.EncodeOptions(list_format=qs_codec.ListFormat.INDICES))
        if qs:
            url += "?" + qs
        body = values.get("data") if "data" in spec.args else None
        async with self.http.request(spec.http_verb, url, json=body) as resp:
            if resp.status == 204:
                return None
            payload = await resp.json(content_type=None)
            if resp.status >= 400:
                assert payload["code"] == resp.status
                raise CallError(payload, resp.status)
            assert resp.status == spec.status, (resp.status, payload)
            return payload

    async def close(self) -> None:
        await self.http.close()


def _nulls_as_text(value: Any) -> Any:
    """``None`` as the text ``null`` (qs would send an empty string, which means "")."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return {k: _nulls_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nulls_as_text(v) for v in value]
    return value


class SocketClient:
    """Feathers socket.io calls: ``emit(method, path, ...args, ack)``; collects every event."""

    transport = "socketio"

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient()
        self.events: list[tuple[str, Any]] = []
        self.sio.on("*", self._on_event)

    async def _on_event(self, event: str, *data: Any) -> None:
        self.events.append((event, data[0] if data else None))

    async def connect(self) -> SocketClient:
        await self.sio.connect(self.url, transports=["websocket"])
        return self

    async def call(self, method: str, path: str, *args: Any) -> Any:
        ack = await self.sio.call(method, (path, *args), timeout=10)
        if isinstance(ack, tuple) and len(ack) == 2 and ack[0] is None:
            return ack[1]
        payload = ack[0] if isinstance(ack, tuple) else ack
        raise CallError(payload)

    async def wait_events(self, count: int, timeout: float = 10.0) -> list[tuple[str, Any]]:
        """The events received (``init`` aside) once at least ``count`` have arrived; an
        AssertionError when they have not after ``timeout`` seconds.

        To show that an event did *not* come, make one more write this connection may see and
        wait for its event: events arrive in order, so a stray one would be in the list before it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(received := [e for e in self.events if e[0] != "init"]) < count:
            assert loop.time() < deadline, f"{len(received)} of {count} events after {timeout} s: {received}"
            await asyncio.sleep(0.01)
        return received

    async def close(self) -> None:
        await self.sio.disconnect()
