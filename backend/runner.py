"""Serving the aiohttp application: Plume's per-connection protocol and runner.

* :class:`PlumeRequestHandler` answers the requests aiohttp's HTTP parser refuses with the
  Feathers error JSON, and keeps the clock of :mod:`backend.limits` (slow clients' deadlines);
* :class:`PlumeServer` caps open connections and sweeps the overdue ones;
* :class:`PlumeRunner` makes that server and calls the REST catch-all directly for requests the
  router could only send to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_urldispatcher import PlainResource

from . import fastpaths
from .errors import ERRORS, BadRequest, FeathersError, GeneralError
from .limits import (
    CLOSING,
    ConnectionClock,
    Limits,
    Sweeper,
    default_max_connections,
    linger_close,
    raise_file_limit,
    refuse,
)
from .transports.common import dumps
from .web import APP_KEY, REST_KEY

# Long query strings are legitimate ($in over many ids); refuse only beyond these (aiohttp: 8 KiB).
HANDLER_ARGS = {"max_line_size": 64 * 1024, "max_field_size": 16 * 1024}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PlumeRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol, answering the requests its HTTP parser refuses (an
    over-long request line, an unknown method token...) with the Feathers error JSON, logging
    client errors as one WARNING line instead of an ERROR with a traceback, and keeping the
    connection's :class:`~backend.limits.ConnectionClock`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = ConnectionClock()
        self.refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self._manager
        if isinstance(server, PlumeServer) and server.full():
            # Answered and closed before aiohttp starts serving it (no handler task, no state).
            self.refused = True
            refuse(transport, server.limits.max_connections)  # type: ignore[arg-type]
            return
        self.clock.opened(time.monotonic())  # the header clock runs from the opening
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.refused:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused or self.clock.phase == CLOSING:  # answered and closing: discard
            return
        if self._upgraded or self._payload_parser is not None:  # a websocket: engine.io watches it
            super().data_received(data)
            return
        count = self._request_count
        super().data_received(data)
        completed = self._request_count > count
        body = None
        if completed and self._messages:
            payload = self._messages[-1][1]
            body = None if payload.is_eof() else payload
        self.clock.received(data, body, completed, time.monotonic())

    def expire(self, answer: bytes) -> None:
        """Send ``answer`` (a 408) and close: gently (:func:`~backend.limits.linger_close`) when
        no request is in flight, since then nothing else writes to the connection; at once when
        a handler still runs (it may write its response, which a half-closed socket refuses)."""
        transport = self.transport
        if transport is None:
            return
        transport.write(answer)
        waiter = self._waiter  # set while aiohttp waits for the next request
        if waiter is not None and not waiter.done():
            linger_close(transport)
        else:
            transport.close()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        # The parser's messages span lines (the offending bytes, a caret under them): one line here.
        message = " ".join(str(message or exc or "").split())
        if status >= 500:
            self.logger.error("Error handling request from %s", request.remote, exc_info=exc)
        else:
            self.logger.warning("Bad HTTP request from %s: %s", request.remote, message or status)
        if request.writer.output_size > 0:  # a response already started: the connection is broken
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        err = _status_error(status, message)
        resp = web.Response(status=err.code, body=dumps(err.to_json()), content_type="application/json")
        resp.force_close()  # the parser lost track of this connection's byte stream
        return resp


def _status_error(status: int, message: str | None) -> FeathersError:
    """The Feathers error of an HTTP status (BadRequest/GeneralError for the codes it lacks)."""
    text = (message or "")[:200]
    cls = next((c for c in ERRORS.values() if c.code == status), None)
    if cls is None:
        cls = BadRequest if status < 500 else GeneralError
    if status >= 500:
        text = "Internal server error"
    return cls(text or f"HTTP {status}")


class PlumeServer(web.Server):
    """aiohttp's low-level server, making :class:`PlumeRequestHandler` connections, at most
    ``limits.max_connections`` at once, and closing the overdue ones (:mod:`backend.limits`)."""

    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.sweeper = Sweeper(limits, lambda: self._connections)

    def __call__(self) -> RequestHandler:
        self.sweeper.start()
        return PlumeRequestHandler(self, loop=self._loop, **self._kwargs)

    def full(self) -> bool:
        """True when a new connection would pass ``max_connections``."""
        return len(self._connections) >= self.limits.max_connections

    async def shutdown(self, timeout: float | None = None) -> None:
        await self.sweeper.stop()
        await super().shutdown(timeout)


class PlumeRunner(web.AppRunner):
    """``web.AppRunner`` for a Plume application: :class:`PlumeServer` connections, and the REST
    catch-all called directly for requests the router could only send to it.

    The router walks its resource index and builds match info per request; with Plume's routes
    (plain ``/info`` and ``/socket.io/``, then one ``*`` catch-all) a path that is none of the plain
    ones, has nothing for the router to decode (no ``%``, no dot segment) and needs no
    ``Expect: 100-continue`` answer always reaches the catch-all, so it skips that work. Any other
    route layout (someone added a route) keeps the router for every request.
    """

    async def _make_server(self) -> web.Server:
        app = self._app
        loop = asyncio.get_running_loop()
        app._set_loop(loop)
        app.on_startup.freeze()
        await app.startup()
        app.freeze()
        # What Application._make_handler passes to the server it makes.
        kwargs = {**self._kwargs, "debug": loop.get_debug(), **(app._handler_args or {})}
        kwargs.setdefault("access_log_class", web.AccessLogger)
        return PlumeServer(_dispatcher(app), request_factory=app._make_request, loop=loop,
                           limits=limits_of(app), **kwargs)


def limits_of(web_app: web.Application) -> Limits:
    """The connection limits configured for ``web_app``'s Plume app (raising the file limit when
    the number of connections comes from it)."""
    settings = web_app[APP_KEY].settings
    cap = settings.max_connections or default_max_connections(raise_file_limit())
    return Limits(header_timeout=settings.header_timeout, body_timeout=settings.body_timeout, max_connections=cap)


def _dispatcher(web_app: web.Application, fast: bool = fastpaths.ENABLED) -> Handler:
    """The request handler: the router's (``web_app._handle``, what aiohttp itself serves), or
    with ``fast`` (:mod:`backend.fastpaths`) a shortcut to the catch-all."""
    routed: Handler = web_app._handle
    if not fast:
        return routed
    plain: set[str] = set()
    catch_all: Handler | None = None
    resources = list(web_app.router.resources())
    for i, resource in enumerate(resources):
        if isinstance(resource, PlainResource):
            plain.add(resource.canonical)
            continue
        routes = list(resource)
        last = i == len(resources) - 1
        if last and resource.canonical == "/{tail}" and len(routes) == 1 and routes[0].method == hdrs.METH_ANY:
            catch_all = routes[0].handler
        else:
            return routed
    if catch_all is None or web_app._run_middlewares or web_app.on_response_prepare:
        return routed
    transport = web_app.get(REST_KEY)
    # The REST transport's entry returns the coroutine to await: no frame of its own (or ours).
    rest: Handler = transport.entry if transport is not None and catch_all == transport.handle else catch_all

    def dispatch(request: web.Request) -> Awaitable[web.StreamResponse]:
        raw = request.raw_path
        cut = raw.find("?")  # the path as aiohttp's parser splits it off the request target
        path = raw[:cut] if cut >= 0 else raw.partition("#")[0]
        if (path[:1] != "/" or "%" in path or "/." in path or path in plain
                or hdrs.EXPECT in request.headers):
            return routed(request)
        return rest(request)

    return dispatch
