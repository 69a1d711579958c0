"""Deadlines for slow clients and a cap on open connections, for aiohttp's HTTP server.

aiohttp keeps a connection open as long as its client sends something now and then: a thousand
clients trickling header bytes (slowloris) held their connections and file descriptors until
real requests failed near the file limit. Here every connection is held to:

* ``header_timeout``: from the connection's opening to the end of its first request's headers,
  then from the first byte of each later request to the end of its headers (blank lines, which
  HTTP lets a client send before a request line, never reset the clock; between requests, an idle
  keep-alive connection is aiohttp's ``keepalive_timeout`` to close);
* ``body_timeout``: a request body may go that long without a byte (not counting while the
  server itself paused reading), and once it has run that long it must average
  :data:`BODY_MIN_RATE` bytes a second;
* ``max_connections``: past it, a new connection is answered 503 and closed.

A connection past a deadline is answered 408 (Feathers ``Timeout``) and closed. One with no
request in flight is closed gently: its sending half at once, the whole after :data:`LINGER`
seconds (or when the client closes first) while what it still sends is discarded, since closing a
socket with unread bytes resets it and the client could lose the 408. Websockets
(socket.io) are exempt once upgraded: engine.io's pings watch them. One sweep a second checks
every connection, so the per-byte cost is a clock read.
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Timeout, Unavailable
from .logs import RateLimitedLog
from .transports.common import dumps

if TYPE_CHECKING:
    from aiohttp.streams import StreamReader

BODY_MIN_RATE = 1024  # bytes a second a body must average once it has run for body_timeout
DEFAULT_MAX_CONNECTIONS = 10_000
SWEEP_EVERY = 1.0  # seconds
LINGER = 2.0  # seconds an overdue connection is drained (its bytes discarded) before it is closed
IDLE, HEADERS, BODY, CLOSING = 0, 1, 2, 3
slow_log = RateLimitedLog("backend.limits", every=60.0)


@dataclass(frozen=True)
class Limits:
    """The connection limits of one server (see the module docstring)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def raise_file_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit of open files towards ``wanted`` (never past the hard
    limit); return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def default_max_connections(file_limit: int) -> int:
    """Connections a process may hold with ``file_limit`` open files: an eighth (at least 64) is
    kept for the database, stored files, workers and logs."""
    return max(16, min(DEFAULT_MAX_CONNECTIONS, file_limit - max(64, file_limit // 8)))


def error_bytes(err: Any) -> bytes:
    """A whole HTTP/1.1 response carrying ``err`` as Feathers JSON, then closing the connection."""
    body = dumps(err.to_json())
    head = (f"HTTP/1.1 {err.code} {err.name}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


class ConnectionClock:
    """Where one connection is in its current request, and since when (kept by its handler)."""

    __slots__ = ("body", "last_byte", "phase", "started")

    def __init__(self) -> None:
        self.phase = IDLE
        self.started = 0.0  # when the current phase began
        self.last_byte = 0.0
        self.body: StreamReader | None = None  # its total_bytes: what has arrived of it

    def opened(self, now: float) -> None:
        """Start the header clock as the connection opens: a connection that never sends a
        request line (silent, or only blank lines) is overdue after ``header_timeout``, as one
        that trickles its headers is (slowloris holding connections open)."""
        self.phase, self.started, self.last_byte = HEADERS, now, now

    def received(self, data: bytes, new_body: StreamReader | None, completed: bool, now: float) -> None:
        """Account for ``data``; ``completed``: a request's headers ended in it (``new_body`` is its
        body when that is still to come)."""
        self.last_byte = now
        if completed:
            self.phase, self.started, self.body = (BODY, now, new_body) if new_body is not None else (IDLE, now, None)
        elif self.phase == IDLE and data.strip():
            # Between keep-alive requests a request starts at its first non-blank byte; while
            # HEADERS, bytes (blank or not) never restart the clock.
            self.phase, self.started = HEADERS, now

    def overdue(self, limits: Limits, now: float, paused: bool) -> str | None:
        """Why the connection has run out of time (None while it has not)."""
        if self.phase == CLOSING:
            return None
        if self.phase == HEADERS and now - self.started > limits.header_timeout:
            return "request headers"
        if self.phase == BODY:
            if self.body is None or self.body.is_eof():
                self.phase, self.body = IDLE, None
                return None
            if paused:  # the server stopped reading: the client cannot be blamed
                self.last_byte = now
                return None
            if now - self.last_byte > limits.body_timeout:
                return "request body"
            elapsed = now - self.started
            if elapsed > limits.body_timeout and self.body.total_bytes < BODY_MIN_RATE * elapsed:
                return "request body (too slow)"
        return None


class Sweeper:
    """Closes, once a second, the connections of ``connections()`` that are overdue."""

    def __init__(self, limits: Limits, connections: Any) -> None:
        self.limits = limits
        self.connections = connections
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            self.sweep(time.monotonic())

    def sweep(self, now: float) -> int:
        """Close the overdue connections; return how many."""
        closed = 0
        for handler in list(self.connections()):
            clock: ConnectionClock | None = getattr(handler, "clock", None)
            transport = handler.transport
            if clock is None or transport is None or transport.is_closing():
                continue
            what = clock.overdue(self.limits, now, paused=bool(getattr(handler, "_reading_paused", False)))
            if what is None:
                continue
            clock.phase = CLOSING
            answer = error_bytes(Timeout(f"The {what} did not arrive in time"))
            expire = getattr(handler, "expire", None)
            if expire is not None:
                expire(answer)
            else:
                transport.write(answer)
                transport.close()
            closed += 1
            peer = transport.get_extra_info("peername")
            slow_log.warning("slow", "closed connections whose %s did not arrive in time (last from %s)", what,
                             peer[0] if isinstance(peer, tuple) else peer)
        return closed


def linger_close(transport: asyncio.BaseTransport) -> None:
    """Close ``transport`` after what was written: its sending half now, the rest after
    :data:`LINGER` seconds (the caller discards what arrives meanwhile; an end of stream from the
    client closes it sooner), so that the client reads the answer rather than a reset."""
    if isinstance(transport, asyncio.WriteTransport) and transport.can_write_eof():
        transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER, transport.close)
    else:
        transport.close()


def refuse(transport: asyncio.Transport, limit: int) -> None:
    """Answer a connection past ``max_connections`` with a 503 and close it."""
    transport.write(error_bytes(Unavailable("The server has too many open connections")))
    transport.close()
    slow_log.warning("full", "refused connections: %d are open (max_connections)", limit)
