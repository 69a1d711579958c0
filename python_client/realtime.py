"""The sync realtime shell: one python-socketio ``Client`` per DataStore, driving
:class:`python_client.connection.Machine`.

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
from .connection import CLIENT_OPTIONS, Action, Authenticate, Ready, RealtimeBase, no_init
from .subscriptions import Callback, report

log = logging.getLogger("python_client")


class Realtime(RealtimeBase):
    """The socket.io side of a sync :class:`~python_client.DataStore`."""

    def __init__(self, location: str, credentials: Credentials, timeout: float) -> None:
        super().__init__(location, credentials, timeout)
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def subscribe(self, path: str, event: str, callback: Callback) -> None:
        """Call ``callback`` on ``event`` of ``path``, once the connection is live (not at all if it fails)."""
        self.subscriptions.add(path, event, callback)
        try:
            self.connect()
        except Exception:
            self.subscriptions.remove(path, event, callback)
            raise

    def connect(self) -> None:
        """Open the connection and wait for its ``init`` (and socket authentication), if not open."""
        with self._lock:
            if self._sio is not None:
                return
            sio = socketio.Client(**CLIENT_OPTIONS)
            sio.on("connect", lambda: self._apply(self.machine.connected()))
            sio.on("init", lambda data: self._apply(self.machine.init(data)))
            sio.on("disconnect", self.machine.disconnected)
            sio.on("*", self._on_event)
            self._ready.clear()
            self.machine.open()
            self._sio = sio
            try:
                sio.connect(self.location, **self.connect_options())
            except socketio.exceptions.ConnectionError as exc:
                raise self.unreachable(exc) from exc
        self._wait_ready()
        refused = self.refusal()
        if refused is not None:  # a bad API key or token: say so now, not later in a log line
            self.close()
            raise refused

    def _wait_ready(self) -> None:
        if not self._ready.wait(self.timeout):
            log.warning(no_init(self.location, self.timeout))

    def _apply(self, action: Action) -> None:
        """Carry out what the machine decided."""
        sio = self._sio
        if isinstance(action, Authenticate) and sio is not None:
            sio.emit("create", (AUTH_PATH, action.payload, {}), callback=self._answered)
        elif isinstance(action, Ready):
            self._ready.set()

    def _answered(self, *ack: Any) -> None:
        self._apply(self.machine.answered(*ack))

    def _on_event(self, event: str, *args: Any) -> None:
        for callback in self.subscriptions.callbacks(event):
            try:
                callback(args[0] if args else None)
            except Exception as exc:
                report(callback, exc)

    def reauthenticate(self) -> None:
        """After a login: authenticate the open connection with the new token."""
        action = self.machine.reauthenticate()
        if action is not None:
            self._ready.clear()
            self._apply(action)
            self._wait_ready()

    def logout(self) -> None:
        """Tell the server the connection logs out (``remove`` on ``authentication``)."""
        sio = self._sio
        if sio is not None and self.machine.logs_out():
            sio.emit("remove", (AUTH_PATH, None, {}))

    def close(self) -> None:
        self.machine.close()
        with self._lock:
            sio, self._sio = self._sio, None
        if sio is not None:
            sio.disconnect()
