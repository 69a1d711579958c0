"""The aiohttp application: both transports over one App, CORS, body limits, lifecycle; and the
runner that serves it (Feathers error JSON for requests aiohttp's HTTP parser refuses, and the
REST catch-all dispatched without the router when the router could only pick it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_urldispatcher import PlainResource

from .app import App
from .config import Settings
from .errors import ERRORS, BadRequest, FeathersError, GeneralError
from .server import create_app
from .transports.common import dumps
from .transports.rest import Guard, RestTransport, add_rest
from .transports.socketio import SocketIOTransport

log = logging.getLogger(__name__)
APP_KEY = web.AppKey("plume_app", App)
REST_KEY = web.AppKey("plume_rest", RestTransport)
SOCKETIO_KEY = web.AppKey("plume_socketio", SocketIOTransport)
# Long query strings are legitimate ($in over many ids); refuse only beyond these (aiohttp: 8 KiB).
HANDLER_ARGS = {"max_line_size": 64 * 1024, "max_field_size": 16 * 1024}
CORS_HEADERS = "Authorization, Content-Type, X-Service-Method, Range, If-None-Match"


def cors_headers(origins: list[str], origin: str | None) -> dict[str, str] | None:
    """CORS response headers for ``origin`` (None when it is not allowed or absent)."""
    if not origin or ("*" not in origins and origin not in origins):
        return None
    return {
        "Access-Control-Allow-Origin": origin,
        "Vary": "Origin",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Expose-Headers": "Content-Range, Content-Length, ETag",
    }


async def create_web_app(settings: Settings, app: App | None = None) -> web.Application:
    """The aiohttp application serving ``settings`` (creates and sets up the App when not given)."""
    app = app or await create_app(settings)
    # No aiohttp middleware (it would wrap every request): the guard (CORS + errors as Feathers
    # JSON) wraps each route's handler instead, inline in the REST catch-all.
    web_app = web.Application(client_max_size=settings.max_body)
    web_app[APP_KEY] = app
    guard = Guard(lambda origin: cors_headers(settings.cors, origin))
    sockets = SocketIOTransport(app, redis_url=settings.redis, max_message=settings.max_body,
                                cors=settings.cors, max_pending=settings.max_pending)
    sockets.attach(web_app, wrap=guard.wrap)
    web_app[SOCKETIO_KEY] = sockets
    web_app[REST_KEY] = add_rest(web_app, app, guard)

    async def on_cleanup(_: web.Application) -> None:
        await app.teardown()

    web_app.on_cleanup.append(on_cleanup)
    return web_app


# ---------------------------------------------------------------------------------------- serving
class PlumeRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol, answering the requests its HTTP parser refuses (an
    over-long request line, an unknown method token...) with the Feathers error JSON, and logging
    client errors as one WARNING line instead of an ERROR with a traceback."""

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
    """aiohttp's low-level server, making :class:`PlumeRequestHandler` connections."""

    def __call__(self) -> RequestHandler:
        return PlumeRequestHandler(self, loop=self._loop, **self._kwargs)


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
        return PlumeServer(_dispatcher(app), request_factory=app._make_request, loop=loop, **kwargs)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _dispatcher(web_app: web.Application) -> Handler:
    """The request handler: the router's (``web_app._handle``), or a shortcut to the catch-all."""
    routed: Handler = web_app._handle
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
