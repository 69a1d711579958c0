"""The realtime connection's state machine, without I/O: both socket.io shells drive it.

The sync shell (:mod:`python_client.realtime`, python-socketio's ``Client``) and the async one
(:mod:`python_client.aio_realtime`, ``AsyncClient``) report what the socket does (connected,
``init`` received, authentication answered, disconnected) and carry out what the machine answers:
:class:`Authenticate` (emit ``("create", "authentication", payload, {})``) or :class:`Ready` (wake
whoever waits for the connection to be live)::

    CLOSED ─open→ CONNECTING ─connect→ WAITING_INIT ─init→ AUTHENTICATING ─answer→ READY
                                                      └─(no auth on the server, or no credentials)─→ READY
    READY ─disconnect→ RECONNECTING ─connect→ WAITING_INIT ─init→ (as above)      any ─close→ CLOSED

The server sends ``init`` (``{auth, services}``) from its connect handler, so it can arrive before
the client counts the namespace as connected (and may not emit yet): the machine waits for both.
Events published before the socket authenticated would not reach it, so ``service.on`` returns
only once the machine is READY (or warns, in both shells, when no ``init`` came in time).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .auth import Credentials
from .errors import ConnectionFailed, FeathersError, error_from_json
from .subscriptions import Subscriptions

log = logging.getLogger("python_client")


class State(Enum):
    CLOSED = "closed"
    CONNECTING = "connecting"  # the first connection: waiting for the socket
    WAITING_INIT = "waiting init"  # connected: waiting for the server's init
    AUTHENTICATING = "authenticating"  # the credentials were sent; waiting for the answer
    READY = "ready"  # live: logged in (``logged_in``) or anonymous
    RECONNECTING = "reconnecting"  # dropped; python-socketio reconnects by itself


@dataclass(frozen=True)
class Authenticate:
    """Emit ``("create", "authentication", payload, {})`` and report its answer to :meth:`Machine.answered`."""

    payload: dict[str, Any]


@dataclass(frozen=True)
class Ready:
    """The connection is live (authenticated when it could be): wake the waiters."""


Action = Authenticate | Ready | None


class Machine:
    """One realtime connection's state (thread-safe: the sync shell reports from the socket's thread)."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.state = State.CLOSED
        self.server_auth = False  # does the server have authentication on (from ``init``)?
        self.auth_error: FeathersError | None = None  # the last socket authentication's refusal
        self.lives = 0  # connections that got their init: 1, plus one per reconnection
        self._connected = False
        self._got_init = False
        self._lock = threading.Lock()

    @property
    def logged_in(self) -> bool:
        return self.state is State.READY and self.server_auth and self.auth_error is None and bool(
            self.credentials.socket_payload())

    def open(self) -> None:
        """A connection is being opened."""
        with self._lock:
            self.state, self._connected, self._got_init, self.auth_error = State.CONNECTING, False, False, None

    def connected(self) -> Action:
        """The socket.io namespace is connected."""
        with self._lock:
            self._connected = True
            if not self._got_init and self.state is not State.CLOSED:
                self.state = State.WAITING_INIT
            return self._both()

    def init(self, data: Any) -> Action:
        """The server's ``init`` arrived."""
        with self._lock:
            self.server_auth = bool(isinstance(data, dict) and data.get("auth"))
            self._got_init = True
            return self._both()

    def answered(self, error: Any = None, result: Any = None) -> Action:
        """The answer to :class:`Authenticate` (the ack's ``(error, result)``)."""
        with self._lock:
            self.auth_error = error_from_json(error) if error else None
            if self.auth_error is not None:
                log.warning("realtime authentication failed: %s", self.auth_error)
            if self.state is State.CLOSED:
                return None
            return self._ready()

    def disconnected(self, *reason: Any) -> None:
        """The socket dropped (python-socketio reconnects by itself)."""
        with self._lock:
            self._connected = self._got_init = False
            if self.state is not State.CLOSED:
                self.state = State.RECONNECTING

    def reauthenticate(self) -> Action:
        """After a login: the open connection authenticates with the new token (None: nothing to send)."""
        with self._lock:
            if not (self._connected and self._got_init):
                return None
            return self._authenticate()

    def logs_out(self) -> bool:
        """Should ``logout`` tell the server (``remove`` on ``authentication``)?"""
        with self._lock:
            return self._connected and self.server_auth

    def close(self) -> None:
        with self._lock:
            self.state = State.CLOSED

    def _both(self) -> Action:
        if self.state is State.CLOSED or not (self._connected and self._got_init):
            return None
        self.lives += 1
        return self._authenticate() or self._ready()

    def _authenticate(self) -> Action:
        payload = self.credentials.socket_payload()
        if not (self.server_auth and payload):
            return None
        self.state = State.AUTHENTICATING
        return Authenticate(payload)

    def _ready(self) -> Action:
        self.state = State.READY
        return Ready()


def no_init(location: str, timeout: float) -> str:
    """The warning when a connection got no ``init`` (or no authentication answer) in time."""
    return f"no init from {location} within {timeout}s: events may need authentication"


#: python-socketio client options of both shells: reconnect by itself, leave SIGINT to the program.
CLIENT_OPTIONS: dict[str, Any] = {"reconnection": True, "reconnection_delay": 0.5, "reconnection_delay_max": 5,
                                  "handle_sigint": False}


class RealtimeBase:
    """What both realtime shells hold: the location, the machine, the subscriptions, the socket."""

    def __init__(self, location: str, credentials: Credentials, timeout: float) -> None:
        self.location = location.rstrip("/")
        self.timeout = timeout
        self.subscriptions = Subscriptions()
        self.machine = Machine(credentials)
        self._sio: Any = None

    @property
    def connected(self) -> bool:
        return self._sio is not None and bool(self._sio.connected)

    @property
    def server_auth(self) -> bool:
        """Does the server have authentication on (from its ``init``)?"""
        return self.machine.server_auth

    @property
    def auth_error(self) -> Exception | None:
        """Why the last socket authentication was refused (None: it was not)."""
        return self.machine.auth_error

    def connect_options(self) -> dict[str, Any]:
        """The arguments of the socket.io client's ``connect`` after the URL."""
        return {"transports": ["websocket"], "socketio_path": "socket.io",
                "headers": self.machine.credentials.headers(), "wait_timeout": self.timeout}

    def refusal(self) -> FeathersError | None:
        """The error ``service.on`` raises when the server refused the socket's credentials (else None)."""
        error = self.machine.auth_error
        if error is None:
            return None
        return type(error)(f"the realtime connection to {self.location} refused the credentials: {error.message}",
                           error.data, error.errors)

    def unreachable(self, exc: Exception) -> ConnectionFailed:
        """The error when the connection cannot be opened."""
        self._sio = None
        return ConnectionFailed(f"Could not open the realtime connection to {self.location}: {exc}")
