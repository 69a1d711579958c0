"""What socket.io clients can do to the server at will, bounded: pending events, and the log.

**Pending events.**
python-engineio queues every outgoing packet of a connection in an unbounded ``asyncio.Queue``
that a writer task empties into the websocket (or a long-poll answer). A client that never reads
(but answers pings, so it is not timed out) stops that writer, and the queue then grows with every
event the server publishes: one such client took the server's memory up by 190 MB in 45 s.

Each connection's queue here counts the bytes it holds; a packet that would take it past
``max_pending`` is dropped, the connection is closed (its TCP transport aborted, so that a writer
blocked on the client's full window is released) and one WARNING line says why.

**The log.** python-engineio and python-socketio log a client's malformed frame (a bad packet
type, a broken attachment, an empty frame) as an ERROR with a traceback: any client could fill the
log with them. :class:`ClientFaultLog` takes their place as the libraries' logger and turns each
into one rate-limited WARNING line (the traceback at DEBUG).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import engineio

from ..logs import RateLimitedLog

log = logging.getLogger("backend.transports.socketio")


class PendingQueue(asyncio.Queue):  # type: ignore[type-arg]
    """An engine.io connection's outgoing queue that refuses to hold more than ``limit`` bytes.

    Uses asyncio.Queue's subclass hooks ``_put``/``_get`` (as ``PriorityQueue`` does), so that
    every way in (``put``, ``put_nowait``) and out (``get``, ``get_nowait``) is counted.
    """

    def __init__(self, limit: int, on_overflow: Any) -> None:
        super().__init__()
        self.limit = limit
        self.pending = 0  # bytes of the packets queued now
        self.overflowed = False
        self._on_overflow = on_overflow

    def _put(self, item: Any) -> None:
        size = _size(item)
        if size and (self.overflowed or self.pending + size > self.limit):
            if not self.overflowed:
                self.overflowed = True
                self._on_overflow(self, self.pending + size)
            return  # dropped: the connection is being closed
        self.pending += size
        super()._put(item)

    def _get(self) -> Any:
        item = super()._get()
        self.pending -= _size(item)
        return item


def _size(pkt: Any) -> int:
    """The bytes a queued engine.io packet will take on the wire (0 for control packets)."""
    data = getattr(pkt, "data", None)
    return len(data) if isinstance(data, (str, bytes)) else 0


def bound_pending(eio: engineio.AsyncServer, limit: int) -> None:
    """Give every connection of ``eio`` a :class:`PendingQueue` of ``limit`` bytes."""

    def overflow(queue: PendingQueue, size: int) -> None:
        socket = next((s for s in list(eio.sockets.values()) if s.queue is queue), None)
        if socket is None or socket.closing or socket.closed:
            return
        log.warning("socket.io connection %s disconnected: it does not read its events (%d bytes waiting, "
                    "max_pending is %d)", socket.sid, size, limit)
        transport = getattr(socket, "plume_transport", None)
        if transport is not None:
            transport.abort()  # releases a writer blocked on the client's full TCP window
        task = asyncio.ensure_future(socket.close(wait=False, abort=True, reason=eio.reason.TRANSPORT_ERROR))
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    eio.create_queue = lambda *args, **kwargs: PendingQueue(limit, overflow)


_closing: set[asyncio.Future[Any]] = set()  # close tasks in flight (kept from the garbage collector)


class ClientFaultLog:
    """The logger python-engineio/python-socketio are given: their chatter (INFO: every packet,
    with its data, credentials included) is dropped, and what they report as errors, which clients
    cause, becomes one rate-limited WARNING line (the traceback at DEBUG)."""

    def __init__(self, name: str = "backend.transports.socketio") -> None:
        self.debug_log = logging.getLogger(name)
        self.limited = RateLimitedLog(name, every=60.0)
        self.level = logging.WARNING  # read by the libraries, never set by them for a given logger

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        pass

    info = debug

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.fault(msg % args if args else msg)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.fault(msg % args if args else msg)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        self.debug_log.debug(msg, *args, exc_info=True)
        self.fault((msg % args if args else msg) + (f": {type(exc).__name__}: {exc}" if exc else ""))

    def fault(self, text: str) -> None:
        """One WARNING line (at most one a minute) for a client's fault."""
        self.limited.warning("fault", "socket.io client error: %s", " ".join(text.split())[:300])
