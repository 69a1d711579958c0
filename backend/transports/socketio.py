"""socket.io transport (python-socketio, Engine.IO 4): the Feathers socket protocol.

Clients call ``emit(method, path, ...args, ack)`` and get ``ack(error)`` or ``ack(null, result)``;
events go to rooms named after the app's channels, so that python-socketio's Redis manager fans
them out to every process.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from .. import fastpaths
from ..app import App
from ..channels import Connection
from ..errors import BadRequest, FeathersError, GeneralError, MethodNotAllowed, convert
from ..hooks import Params
from ..service import CUSTOM_NAME, METHODS, custom_method
from . import sio_json
from .common import check_depth
from .sio_limits import ClientFaultLog, bound_pending

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SIGNAL_EVENT = "plume:signal"  # never reaches a client: the manager hands it to the app
CLIENT_FAULTS = ClientFaultLog()


class SignalRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, also carrying :meth:`App.signal` messages between processes.

    Every emit, local or from another process, passes through ``_handle_emit``; signals are taken out
    there and given to the app instead of being sent to clients.
    """

    def __init__(self, url: str, app: App) -> None:
        super().__init__(url)
        self.plume_app = app

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") == SIGNAL_EVENT:
            data = message.get("data")
            payload = data[0] if isinstance(data, list) and data else data
            if isinstance(payload, dict):
                await self.plume_app.deliver_signal(payload)
            return
        await super()._handle_emit(message)


class SocketIOTransport:
    """Serves the app's services to socket.io clients at ``/socket.io``."""

    def __init__(self, app: App, *, redis_url: str | None = None, max_message: int = 10 * 1024 * 1024,
                 cors: list[str] | str = "*", max_pending: int = 32 * 1024 * 1024) -> None:
        self.app = app
        manager = SignalRedisManager(redis_url, app) if redis_url else None
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=manager,
            cors_allowed_origins=cors if cors != ["*"] else "*",
            max_http_buffer_size=max_message,
            logger=CLIENT_FAULTS,
            engineio_logger=CLIENT_FAULTS,
            # The codec is FeathersPacket's own (python-socketio's json= option would also give it
            # to engine.io, whose packets need a codec that raises on text that is not JSON).
            serializer=sio_json.FeathersPacket,
        )
        _plume_websockets(self.sio, fast=fastpaths.ENABLED)
        bound_pending(self.sio.eio, max_pending)
        # Fast path: the rooms of the in-process manager (python-socketio drops a room when it
        # empties): an event for rooms nobody is in is skipped before python-socketio builds its
        # packet. None with a pub/sub manager, which must always publish for the other processes.
        self._local_rooms: dict[str, Any] | None = (
            self.sio.manager.rooms if fastpaths.ENABLED and type(self.sio.manager) is socketio.AsyncManager
            else None)
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("*", self.on_call)
        app.on_dispatch(self.dispatch)
        if manager is not None:
            app.set_signal_fanout(self.fan_out_signal)
            app.events_leave_process = True
            # python-socketio subscribes to Redis on the first socket.io connection; signals
            # (App.signal) must also reach a process that no client is connected to.
            self.sio.manager_initialized = True
            self.sio.manager.initialize()

    def attach(self, web_app: web.Application, wrap: Callable[[Handler], Handler] | None = None) -> None:
        """Serve ``/socket.io/`` (Engine.IO's GET, POST and OPTIONS), each through ``wrap`` when given."""
        handler: Handler = self.handle
        if wrap is not None:
            handler = wrap(handler)
        # python-engineio's aiohttp driver adds these same three routes to the bare handler.
        for verb in ("GET", "POST", "OPTIONS"):
            web_app.router.add_route(verb, "/socket.io/", handler)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One engine.io HTTP request (long-polling, or the websocket upgrade)."""
        resp = await self.sio.handle_request(request)
        if not isinstance(resp, web.StreamResponse):
            # python-engineio answers a websocket request that lacks "Connection: Upgrade" with
            # its packet list instead of a response.
            raise BadRequest("Invalid websocket upgrade")
        return resp  # type: ignore[no-any-return]

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        sio = self.sio

        async def join(room: str) -> None:
            await sio.enter_room(sid, room)

        async def leave(room: str) -> None:
            await sio.leave_room(sid, room)

        request = environ.get("aiohttp.request")
        async def disconnect() -> None:
            await sio.disconnect(sid)

        conn = Connection(id=sid, provider="socketio", join_fn=join, leave_fn=leave, disconnect_fn=disconnect)
        conn.data["headers"] = dict(request.headers) if request is not None else {}
        conn.data["ip"] = request.remote if request is not None else None
        await self.app.connected(conn)
        await sio.emit("init", {"auth": bool(getattr(self.app, "auth_enabled", False)),
                                "services": sorted(self.app.services)}, to=sid)

    async def on_disconnect(self, sid: str, *_: Any) -> None:
        conn = self.app.connections.get(sid)
        if conn is not None:
            await self.app.disconnected(conn)

    async def on_call(self, method: str, sid: str, *args: Any) -> Any:
        """One Feathers call; the return value is the ack's arguments."""
        try:
            return (None, await self._call(method, sid, args))
        except FeathersError as err:
            return err.to_json()
        except Exception:
            log.exception("unexpected socket.io error in %s", method)
            return GeneralError("Internal server error").to_json()

    async def _call(self, method: str, sid: str, args: tuple[Any, ...]) -> Any:
        spec = METHODS.get(method)
        if spec is None and method == sio_json.INVALID_EVENT:
            raise BadRequest(str(args[0]) if args else "Invalid message")
        if spec is None and not CUSTOM_NAME.fullmatch(method):
            raise MethodNotAllowed(f"Method `{method[:64]}` is not supported by this endpoint.")
        if not args or not isinstance(args[0], str):
            raise BadRequest("The first argument must be a service path")
        path = args[0]
        given = len(args) - 1  # arguments after the path: the method's, then the query
        if given > (spec or custom_method(method)).arity:
            raise BadRequest(f"Too many arguments for '{method}' method")
        handle = self.app.services.get(path) or await self.app.resolve(path, self._caller(sid))
        if spec is None:  # a custom method, when the service declares it
            if method not in handle.custom:
                raise MethodNotAllowed(f"Method `{method}` is not supported by this endpoint.")
            spec = custom_method(method)
        names = spec.args
        values = [args[i + 1] if i < given else None for i in range(len(names))]  # missing ones are null
        query = (args[len(names) + 1] if given > len(names) else None) or {}
        if not isinstance(query, dict):
            raise BadRequest("The query must be an object")
        check_depth(query)
        for i, name in enumerate(names):
            if name == "data":
                if values[i] is None:
                    values[i] = {}
                check_depth(values[i])
        for i, name in enumerate(names):
            if name == "id" and isinstance(values[i], (dict, list)):
                raise BadRequest("Invalid id")
        params = self._caller(sid)
        params.query = query
        ctx = await handle.call(method, *values, params=params)
        if ctx.error is not None:
            if not isinstance(ctx.error, FeathersError):
                log.error("error in %s.%s", ctx.path, method, exc_info=ctx.error)
            raise convert(ctx.error)
        return ctx.safe_result

    def _caller(self, sid: str) -> Params:
        """The params of a call from connection ``sid``: who it is, its headers and address."""
        conn = self.app.connections.get(sid)
        data = conn.data if conn else {}
        return Params(provider="socketio", connection=conn, user=data.get("user"),
                      authentication=data.get("authentication"), headers=data.get("headers", {}),
                      extra={"ip": data.get("ip")})

    async def dispatch(self, event: str, data: Any, channels: list[str]) -> None:
        """Send event ``event`` with ``data`` to the connections in ``channels`` (rooms)."""
        if self._local_rooms is not None:
            rooms = self._local_rooms.get("/")
            if not rooms or not any(name in rooms for name in channels):
                return  # nobody in those rooms, and no other process to tell: nothing to send
        await self.sio.emit(event, data, to=channels)

    async def fan_out_signal(self, message: dict[str, Any]) -> None:
        """Carry an :meth:`App.signal` message to every process (through the Redis manager)."""
        await self.sio.emit(SIGNAL_EVENT, message, to=SIGNAL_EVENT)


def _plume_websockets(sio: socketio.AsyncServer, *, fast: bool) -> None:
    """Serve websockets through python-engineio's aiohttp driver subclassed, so that:

    * the engine.io socket knows its TCP transport, to cut off a client that does not read
      (:mod:`.sio_limits`);
    * a frame engine.io cannot decode is one warning line, not a traceback;
    * on the fast path (``fast``, :mod:`backend.fastpaths`): without permessage-deflate, as Node's
      socket.io server serves them by default (Feathers messages are small JSON frames, and
      compressing each cost more CPU than it saved on a LAN, a top item of the socket.io profile;
      python-engineio hardcodes aiohttp's default, compress on, in its driver), and sending
      without the driver's per-message check of aiohttp's send methods.
    """
    from engineio.async_drivers.aiohttp import WebSocket

    class PlumeWebSocket(WebSocket):  # type: ignore[misc]
        async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
            request = environ["aiohttp.request"]
            self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=not fast)
            await self._sock.prepare(request)
            # The engine.io socket (whose handler this is) may have to cut the connection short.
            self.handler.__self__.plume_transport = request.transport
            self.environ = environ
            try:
                await self.handler(self)
            except Exception as exc:  # engine.io gave up on a frame it could not decode
                CLIENT_FAULTS.fault(f"websocket frame: {type(exc).__name__}: {exc}")
                await self._sock.close()
            return self._sock

    class FastPlumeWebSocket(PlumeWebSocket):
        # The stock driver asks inspect.iscoroutinefunction of aiohttp's send method on every
        # message; aiohttp's are coroutines.
        async def send(self, message: str | bytes) -> None:
            if isinstance(message, bytes):
                await self._sock.send_bytes(message)
            else:
                await self._sock.send_str(message)

    sio.eio._async = {**sio.eio._async, "websocket": FastPlumeWebSocket if fast else PlumeWebSocket}
