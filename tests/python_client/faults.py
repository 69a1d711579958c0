"""A real HTTP proxy on loopback, in front of a real Plume server, that answers chosen requests with faults.

The server is never mocked: requests the script does not pick are forwarded to it unchanged
(raw path and query included). Each request takes the next scripted action:

* ``"forward"`` (the default once the script is empty);
* ``Status(code, body, headers)``: answer this instead (a 503, a 429 with ``Retry-After``, an
  nginx-style HTML 502...);
* ``"hang"``: never answer (the client must time out);
* ``"drop"``: close the connection without answering (the request never reached the server);
* ``"lose"``: forward to the server, then close the connection before answering (the server did
  the work; the client never hears of it);
* ``LoseThen(fn)``: as ``"lose"``, calling ``fn()`` (in a thread) before closing: kill the server
  while the request's answer is in flight.

``when(method, path, *actions)`` scripts the next requests of one method and path (without query)
instead: they take those actions first, and leave the main script to the others.

A client's ``GET /info`` probe (each store checks once that its URL is a Plume server's, see
``python_client/probe.py``) is forwarded without taking an action from the script, and listed in
``probes`` rather than ``requests()``: scripts and counts speak of the calls under test.

    async with FaultProxy(server.url) as proxy:           # in the test's loop (async clients)
    with FaultProxy(server.url).threaded() as proxy:      # in its own thread (sync clients)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.server import free_port

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Status:
    """A scripted answer."""

    code: int
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoseThen:
    """Forward the request, call ``fn()``, then close the connection without answering."""

    fn: Callable[[], Any]


@dataclass
class Seen:
    """A request the proxy received."""

    method: str
    path: str
    headers: dict[str, str]
    action: Any


class FaultProxy:
    """See the module docstring."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.script: deque[Any] = deque()
        self.rules: list[tuple[str, str, deque[Any]]] = []
        self.seen: list[Seen] = []
        self.probes: list[Seen] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def then(self, *actions: Any) -> FaultProxy:
        """Append actions to the script (one per coming request)."""
        with self._lock:
            self.script.extend(actions)
        return self

    def when(self, method: str, path: str, *actions: Any) -> FaultProxy:
        """Script the next requests of ``method`` on ``path`` (ahead of the main script)."""
        with self._lock:
            self.rules.append((method, path, deque(actions)))
        return self

    def _ruled(self, request: web.Request) -> Any:
        """The action a :meth:`when` rule has for ``request`` (None: the main script's turn)."""
        for method, path, actions in self.rules:
            if actions and request.method == method and request.path == path:
                return actions.popleft()
        return None

    def requests(self, method: str | None = None) -> list[Seen]:
        """Requests seen so far (of ``method`` only, when given)."""
        with self._lock:
            return [s for s in self.seen if method is None or s.method == method]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            if request.method == "GET" and request.path == "/info":
                action: Any = "forward"
                self.probes.append(Seen(request.method, request.raw_path, dict(request.headers), action))
            else:
                action = self._ruled(request)
                if action is None:
                    action = self.script.popleft() if self.script else "forward"
                self.seen.append(Seen(request.method, request.raw_path, dict(request.headers), action))
        body = await request.read()
        if isinstance(action, Status):
            raw = action.body.encode() if isinstance(action.body, str) else action.body
            return web.Response(status=action.code, body=raw, headers=action.headers)
        if action == "hang":
            await asyncio.sleep(3600)
        if action == "drop":
            return self._drop(request)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._http.request(request.method, self.upstream + request.raw_path, data=body or None,
                                      headers=headers, allow_redirects=False) as up:
            payload = await up.read()
            if isinstance(action, LoseThen):
                await asyncio.to_thread(action.fn)
            if action == "lose" or isinstance(action, LoseThen):
                return self._drop(request)
            out_headers = {k: v for k, v in up.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=up.status, body=payload, headers=out_headers)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        raise ConnectionResetError("dropped by the fault proxy")

    async def start(self) -> FaultProxy:
        self._http = aiohttp.ClientSession()
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def threaded(self) -> Iterator[FaultProxy]:
        """Run the proxy in its own thread and event loop (for sync clients, which block theirs)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()
