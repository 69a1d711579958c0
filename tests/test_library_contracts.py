"""What Plume relies on inside aiohttp, python-engineio, python-socketio and asyncio, pinned.

The fast paths (backend/fastpaths.py) and the connection limits (backend/limits.py, runner.py,
transports/sio_limits.py) use attributes these libraries do not document. Each test here names
the Plume code that relies on a behaviour and fails loudly, with what changed, when an upgrade
breaks it, instead of letting the shortcut misbehave quietly.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import aiohttp
import engineio
import pytest
import socketio
from aiohttp import hdrs, web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_urldispatcher import PlainResource
from engineio.async_drivers import aiohttp as engineio_aiohttp
from socketio import packet as sio_packet

from backend.transports.sio_json import FeathersPacket
from tests.support.inprocess import running


def test_aiohttp_application_internals_used_by_the_runner() -> None:
    """backend/runner.py: PlumeRunner._make_server repeats Application._make_handler, and
    _dispatcher reads the router's layout and Application._handle."""
    app = web.Application()
    for name in ("_handle", "_make_request", "_set_loop", "_handler_args", "_run_middlewares"):
        assert hasattr(app, name), f"aiohttp.web.Application lost {name}"
    assert inspect.iscoroutinefunction(app._handle)
    assert "_make_server" in vars(web.AppRunner) or hasattr(web.AppRunner, "_make_server")
    async def ok(_: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/info", ok)
    app.router.add_route("*", "/{tail:.*}", ok)
    first, last = list(app.router.resources())
    assert isinstance(first, PlainResource) and first.canonical == "/info"
    assert last.canonical == "/{tail}" and next(iter(last)).method == hdrs.METH_ANY


def test_aiohttp_request_handler_internals_used_by_the_limits() -> None:
    """backend/runner.py: PlumeRequestHandler reads the parser's state after data_received."""
    params = inspect.signature(RequestHandler.data_received).parameters
    assert list(params) == ["self", "data"]
    slots = set(getattr(RequestHandler, "__slots__", ()))
    for name in ("_messages", "_request_count", "_payload_parser", "_manager"):
        assert name in slots, f"aiohttp's RequestHandler lost {name}"
    assert "self._upgraded" in inspect.getsource(RequestHandler.data_received)
    assert hasattr(aiohttp.web_protocol, "BaseProtocol") and "_reading_paused" in inspect.getsource(
        aiohttp.base_protocol.BaseProtocol.__init__)
    assert "_connections" in inspect.getsource(web.Server.__init__)
    assert "total_bytes" in StreamReader.__slots__ and hasattr(StreamReader, "is_eof")
    assert list(inspect.signature(RequestHandler.handle_error).parameters) == [
        "self", "request", "status", "exc", "message"]


async def test_aiohttp_counts_every_request_and_queues_its_payload(tmp_path: Path) -> None:
    """The clock's contract, end to end: a request's headers complete in data_received (the
    request count grows, the message is queued with its payload) and its body's bytes are
    counted in total_bytes."""
    async with running(tmp_path) as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10\r\n\r\n{\"a\":")
        await writer.drain()
        server = srv.runner.server
        assert server is not None
        handler = None
        while handler is None or handler.clock.body is None:
            handler = next(iter(server._connections), None)  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        assert handler._request_count == 1 and handler.clock.body.total_bytes == 5
        writer.write(b" 1}     ")
        assert (await reader.readline()).startswith(b"HTTP/1.1 201")
        writer.close()


def test_engineio_internals_used_by_the_transport() -> None:
    """backend/transports/socketio.py and sio_limits.py: the websocket driver is replaced through
    AsyncServer._async, every socket's queue comes from create_queue, and the driver's handler is
    the engine.io socket's bound _websocket_handler."""
    server = engineio.AsyncServer(async_mode="aiohttp")
    assert "websocket" in server._async and server._async["websocket"] is engineio_aiohttp.WebSocket
    assert list(inspect.signature(engineio_aiohttp.WebSocket.__init__).parameters) == ["self", "handler", "server"]
    assert "self.queue = self.server.create_queue()" in inspect.getsource(engineio.base_socket.BaseSocket.__init__)
    source = inspect.getsource(engineio.async_socket.AsyncSocket._upgrade_websocket)
    assert "self._websocket_handler, self.server" in source
    assert list(inspect.signature(engineio.async_socket.AsyncSocket.close).parameters) == [
        "self", "wait", "abort", "reason"]
    assert hasattr(server.reason, "TRANSPORT_ERROR") and isinstance(server.sockets, dict)


def test_asyncio_queue_subclass_hooks() -> None:
    """sio_limits.PendingQueue counts bytes in _put/_get: put, put_nowait, get and get_nowait
    all go through them (as PriorityQueue relies on)."""
    seen: list[str] = []

    class Spy(asyncio.Queue):  # type: ignore[type-arg]
        def _put(self, item: object) -> None:
            seen.append("put")
            super()._put(item)

        def _get(self) -> object:
            seen.append("get")
            return super()._get()

    async def run() -> None:
        q = Spy()
        q.put_nowait(1)
        await q.put(2)
        q.get_nowait()
        await q.get()

    asyncio.run(run())
    assert seen == ["put", "put", "get", "get"]


def test_socketio_packet_internals_used_by_the_codec() -> None:
    """sio_json.FeathersPacket: the serializer option takes a Packet subclass, whose decode
    returns the attachment count and whose json attribute is the codec (engine.io keeps its own)."""
    assert "serializer" in inspect.signature(socketio.base_server.BaseServer.__init__).parameters
    pkt = FeathersPacket()
    assert pkt.decode('2["find","x"]') == 0 and pkt.data == ["find", "x"]
    assert sio_packet.Packet.data_is_binary(["a", {"b": b"x"}]) is True
    server = socketio.AsyncServer(async_mode="aiohttp", serializer=FeathersPacket)
    assert server.packet_class is FeathersPacket
    assert engineio.packet.Packet.json is not FeathersPacket.json  # engine.io's stays the stdlib's


def test_socketio_manager_rooms_layout() -> None:
    """socketio.py's fast path reads AsyncManager.rooms as {namespace: {room: {sid: eio_sid}}}
    and expects a room to disappear when its last member leaves."""

    async def run() -> None:
        server = socketio.AsyncServer(async_mode="aiohttp")
        manager = server.manager
        assert type(manager) is socketio.AsyncManager
        manager.set_server(server)
        manager.initialize()
        sid = await manager.connect("eio-1", "/")
        await manager.enter_room(sid, "/", "r1")
        assert sid in manager.rooms["/"]["r1"]
        await manager.leave_room(sid, "/", "r1")
        assert "r1" not in manager.rooms["/"]

    asyncio.run(run())


def test_the_redis_manager_routes_every_emit_through_handle_emit() -> None:
    """socketio.py's SignalRedisManager takes plume:signal messages out in _handle_emit."""
    from socketio.async_pubsub_manager import AsyncPubSubManager

    assert "_handle_emit" in vars(AsyncPubSubManager)
    assert issubclass(socketio.AsyncRedisManager, AsyncPubSubManager)


@pytest.mark.parametrize("name", ["writer", "output_size"])
def test_aiohttp_request_writer_output_size(name: str) -> None:
    """runner.PlumeRequestHandler.handle_error reads request.writer.output_size."""
    source = inspect.getsource(aiohttp.http_writer.StreamWriter)
    assert "output_size" in source and hasattr(web.BaseRequest, name if name == "writer" else "writer")


def test_socketio_subscribes_its_manager_on_first_connect() -> None:
    """socketio.py sets manager_initialized and calls manager.initialize() itself at start, as
    python-socketio otherwise does on the first connection (with Redis, signals must reach a
    process no client is connected to)."""
    source = inspect.getsource(socketio.AsyncServer._handle_eio_connect)
    assert "self.manager_initialized" in source and "self.manager.initialize()" in source
