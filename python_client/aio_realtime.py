"""The async realtime shell: one python-socketio ``AsyncClient`` per AsyncDataStore, driving
:class:`python_client.connection.Machine` (the same machine as the sync :mod:`python_client.realtime`).

Callbacks may be plain functions or coroutine functions (awaited in the event loop, in order).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import socketio

from .auth import AUTH_PATH, Credentials
from .connection import CLIENT_OPTIONS, Action, Authenticate, Ready, RealtimeBase, no_init
from .subscriptions import Callback, report

log = logging.getLogger("python_client")


class AsyncRealtime(RealtimeBase):
    """The socket.io side of an :class:`~python_client.AsyncDataStore`."""

    def __init__(self, location: str, credentials: Credentials, timeout: float) -> None:
        super().__init__(location, credentials, timeout)
        # Made in the running loop, on first use (the store may be built outside it).
        self._ready: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None

    async def subscribe(self, path: str, event: str, callback: Callback) -> None:
        """Call ``callback`` on ``event`` of ``path``, once the connection is live (not at all if it fails)."""
        self.subscriptions.add(path, event, callback)
        try:
            await self.connect()
        except Exception:
            self.subscriptions.remove(path, event, callback)
            raise

    async def connect(self) -> None:
        """Open the connection and wait for its ``init`` (and socket authentication), if not open."""
        if self._lock is None:
            self._lock, self._ready = asyncio.Lock(), asyncio.Event()
        async with self._lock:
            if self._sio is not None:
                return
            sio = socketio.AsyncClient(**CLIENT_OPTIONS)
            sio.on("connect", self._on_connect)
            sio.on("init", self._on_init)
            sio.on("disconnect", self.machine.disconnected)
            sio.on("*", self._on_event)
            self._event().clear()
            self.machine.open()
            self._sio = sio
            try:
                await sio.connect(self.location, **self.connect_options())
            except socketio.exceptions.ConnectionError as exc:
                if sio.eio.http is not None:  # python-engineio leaves its session open after a failed connect
                    await sio.eio.http.close()
                raise self.unreachable(exc) from exc
        await self._wait_ready()
        refused = self.refusal()
        if refused is not None:  # a bad API key or token: say so now, not later in a log line
            await self.close()
            raise refused

    def _event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    async def _wait_ready(self) -> None:
        try:
            await asyncio.wait_for(self._event().wait(), self.timeout)
        except TimeoutError:
            log.warning(no_init(self.location, self.timeout))

    async def _on_connect(self) -> None:
        await self._apply(self.machine.connected())

    async def _on_init(self, data: Any) -> None:
        await self._apply(self.machine.init(data))

    async def _apply(self, action: Action) -> None:
        """Carry out what the machine decided."""
        sio = self._sio
        if isinstance(action, Authenticate) and sio is not None:
            await sio.emit("create", (AUTH_PATH, action.payload, {}), callback=self._answered)
        elif isinstance(action, Ready):
            self._event().set()

    async def _answered(self, *ack: Any) -> None:
        await self._apply(self.machine.answered(*ack))

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
        action = self.machine.reauthenticate()
        if action is not None:
            self._event().clear()
            await self._apply(action)
            await self._wait_ready()

    async def logout(self) -> None:
        """Tell the server the connection logs out (``remove`` on ``authentication``)."""
        sio = self._sio
        if sio is not None and self.machine.logs_out():
            await sio.emit("remove", (AUTH_PATH, None, {}))

    async def close(self) -> None:
        self.machine.close()
        sio, self._sio = self._sio, None
        if sio is not None:
            await sio.disconnect()
