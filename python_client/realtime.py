"""Realtime events for the sync client: one python-socketio ``Client`` per DataStore.

The connection opens on the first ``service.on(...)``; callbacks run in the socket.io client's
thread. python-socketio reconnects by itself after a drop, and the server's ``init`` on each new
connection triggers a fresh socket authentication (when the server has authentication on and the
DataStore has credentials).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import socketio

from .auth import AUTH_PATH, Credentials
from .errors import ConnectionFailed, error_from_json
from .subscriptions import Callback, Subscriptions, report

log = logging.getLogger("python_client")


class Realtime:
    """The socket.io side of a sync :class:`~python_client.DataStore`."""

    def __init__(self, location: str, credentials: Credentials, timeout: float) -> None:
        self.location = location.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.subscriptions = Subscriptions()
        self.server_auth = False  # does the server have authentication on (from ``init``)?
        self.auth_error: Exception | None = None
        self._sio: socketio.Client | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._state = threading.Lock()
        self._connected = False
        self._got_init = False

    @property
    def connected(self) -> bool:
        return self._sio is not None and self._sio.connected

    def subscribe(self, path: str, event: str, callback: Callback) -> None:
        self.subscriptions.add(path, event, callback)
        self.connect()

    def connect(self) -> None:
        """Open the connection and wait for its ``init`` (and socket authentication), if not open."""
        with self._lock:
            if self._sio is not None:
                return
            sio = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5,
                                  handle_sigint=False)
            sio.on("connect", self._on_connect)
            sio.on("disconnect", self._on_disconnect)
            sio.on("init", self._on_init)
            sio.on("*", self._on_event)
            self._ready.clear()
            self._sio = sio
            try:
                sio.connect(self.location, transports=["websocket"], socketio_path="socket.io",
                            headers=self.credentials.headers(), wait_timeout=self.timeout)
            except socketio.exceptions.ConnectionError as exc:
                self._sio = None
                raise ConnectionFailed(f"Could not open the realtime connection to {self.location}: {exc}") from exc
        # Events published before the socket authenticated would not reach it: wait for that first.
        self._ready.wait(self.timeout)

    # The server sends ``init`` from its connect handler, so it can arrive before the client counts
    # the namespace as connected (and may not emit yet): authenticate once both have happened.
    def _on_connect(self) -> None:
        with self._state:
            self._connected = True
        self._after_connect()

    def _on_disconnect(self, *args: Any) -> None:
        with self._state:
            self._connected = self._got_init = False

    def _on_init(self, data: Any) -> None:
        with self._state:
            self.server_auth = bool(isinstance(data, dict) and data.get("auth"))
            self._got_init = True
        self._after_connect()

    def _after_connect(self) -> None:
        with self._state:
            if not (self._connected and self._got_init):
                return
        if not self._authenticate():
            self._ready.set()

    def _authenticate(self) -> bool:
        """Send the credentials over the socket if the server wants them; True if sent."""
        payload = self.credentials.socket_payload()
        sio = self._sio
        if not (self.server_auth and payload and sio is not None):
            return False
        sio.emit("create", (AUTH_PATH, payload, {}), callback=self._on_auth)
        return True

    def _on_auth(self, error: Any = None, result: Any = None) -> None:
        self.auth_error = error_from_json(error) if error else None
        if self.auth_error is not None:
            log.warning("realtime authentication failed: %s", self.auth_error)
        self._ready.set()

    def _on_event(self, event: str, *args: Any) -> None:
        for callback in self.subscriptions.callbacks(event):
            try:
                callback(args[0] if args else None)
            except Exception as exc:
                report(callback, exc)

    def reauthenticate(self) -> None:
        """After a login: authenticate the open connection with the new token."""
        if self.connected:
            self._ready.clear()
            if self._authenticate():
                self._ready.wait(self.timeout)

    def logout(self) -> None:
        """Tell the server the connection logs out (``remove`` on ``authentication``)."""
        sio = self._sio
        if sio is not None and sio.connected and self.server_auth:
            sio.emit("remove", (AUTH_PATH, None, {}))

    def close(self) -> None:
        with self._lock:
            sio, self._sio = self._sio, None
        if sio is not None:
            sio.disconnect()
