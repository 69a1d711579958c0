"""The aiohttp application: both transports over one App, CORS, body limits, lifecycle.

:mod:`backend.runner` serves it.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .app import App
from .config import Settings
from .server import create_app
from .transports.rest import Guard, RestTransport, add_rest
from .transports.socketio import SocketIOTransport

log = logging.getLogger(__name__)
APP_KEY = web.AppKey("plume_app", App)
REST_KEY = web.AppKey("plume_rest", RestTransport)
SOCKETIO_KEY = web.AppKey("plume_socketio", SocketIOTransport)
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
