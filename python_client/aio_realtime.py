"""Realtime events for the asyncio client: one python-socketio ``AsyncClient`` per AsyncDataStore.

Same behaviour as :mod:`python_client.realtime`; callbacks may be plain functions or coroutine
functions (awaited in the event loop, in order).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import socketio

from .auth import AUTH_PATH, Credentials
from .errors import ConnectionFailed, error_from_json
from .subscriptions import Callback, Subscriptions, report

log = logging.getLogger("python_client")


class AsyncRealtime:
    """The socket.io side of an :class:`~python_client.AsyncDataStore`."""

    def __init__(self, location: str, credentials: Credentials, timeout: float) -> None:
        self.location = location.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.subscriptions = Subscriptions()
        self.server_auth = False
        self.auth_error: Exception | None = None
        self._sio: socketio.AsyncClient | None = None
        self._ready: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._connected = False
        self._got_init = False

    @property
    def connected(self) -> bool:
        return self._sio is not None and self._sio.connected

    async def subscribe(self, path: str, event: str, callback: Callback) -> None:
        self.subscriptions.add(path, event, callback)
        await self.connect()

    async def connect(self) -> None:
        """Open the connection and wait for its ``init`` (and socket authentication), if not open."""
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._ready = asyncio.Event()
        assert self._ready is not None
        async with self._lock:
            if self._sio is not None:
                return
            sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5,
                                       handle_sigint=False)
            sio.on("connect", self._on_connect)
            sio.on("disconnect", self._on_disconnect)
            sio.on("init", self._on_init)
            sio.on("*", self._on_event)
            self._ready.clear()
            self._sio = sio
            try:
                await sio.connect(self.location, transports=["websocket"], socketio_path="socket.io",
                                  headers=self.credentials.headers(), wait_timeout=self.timeout)
            except socketio.exceptions.ConnectionError as exc:
                self._sio = None
                raise ConnectionFailed(f"Could not open the realtime connection to {self.location}: {exc}") from exc
        try:
            await asyncio.wait_for(self._ready.wait(), self.timeout)
        except TimeoutError:
            log.warning("no init from %s within %ss: events may need authentication", self.location, self.timeout)

    # The server sends ``init`` from its connect handler, so it can arrive before the client counts
    # the namespace as connected (and may not emit yet): authenticate once both have happened.
    async def _on_connect(self) -> None:
        self._connected = True
        await self._after_connect()

    async def _on_disconnect(self, *args: Any) -> None:
        self._connected = self._got_init = False

    async def _on_init(self, data: Any) -> None:
        self.server_auth = bool(isinstance(data, dict) and data.get("auth"))
        self._got_init = True
        await self._after_connect()

    async def _after_connect(self) -> None:
        if not (self._connected and self._got_init):
            return
        if not await self._authenticate() and self._ready is not None:
            self._ready.set()

    async def _authenticate(self) -> bool:
        payload = self.credentials.socket_payload()
        sio = self._sio
        if not (self.server_auth and payload and sio is not None):
            return False
        await sio.emit("create", (AUTH_PATH, payload, {}), callback=self._on_auth)
        return True

    async def _on_auth(self, error: Any = None, result: Any = None) -> None:
        self.auth_error = error_from_json(error) if error else None
        if self.auth_error is not None:
            log.warning("realtime authentication failed: %s", self.auth_error)
        if self._ready is not None:
            self._ready.set()

    async def _on_event(self, event: str, *args: Any) -> None:
        for callback in self.subscriptions.callbacks(event):
            try:
                result = callback(args[0] if args else None)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                report(callback, exc)

    async def reauthenticate(self) -> None:
        """After a login: authenticate the open connection with the new token."""
        if self.connected and self._ready is not None:
            self._ready.clear()
            if await self._authenticate():
                try:
                    await asyncio.wait_for(self._ready.wait(), self.timeout)
                except TimeoutError:
                    log.warning("realtime authentication got no answer within %ss", self.timeout)

    async def logout(self) -> None:
        sio = self._sio
        if sio is not None and sio.connected and self.server_auth:
            await sio.emit("remove", (AUTH_PATH, None, {}))

    async def close(self) -> None:
        sio, self._sio = self._sio, None
        if sio is not None:
            await sio.disconnect()
