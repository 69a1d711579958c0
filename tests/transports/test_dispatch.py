"""PlumeRunner's shortcut to the REST catch-all answers exactly as aiohttp's router would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web

from backend.runner import _dispatcher
from tests.support.inprocess import running


async def test_paths_the_router_must_decode_or_route_elsewhere(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/info") as r:
            info = await r.json()
        for path in ("/%69nfo", "/info?x=1", "/info#top"):  # the router decodes or splits these to /info
            async with http.get(srv.url + path) as r:
                assert r.status == 200 and await r.json() == info, path
        async with http.post(f"{srv.url}/things", json={"a": 1}) as r:
            rid = (await r.json())["_id"]
        for path in (f"/things/{rid}", f"/th%69ngs/{rid}", f"/things/./{rid}", f"/things/{rid}?a=1"):
            async with http.get(srv.url + path) as r:
                assert r.status == 200 and (await r.json())["_id"] == rid, path
        async with http.get(f"{srv.url}/socket.io/", params={"EIO": "4", "transport": "polling"}) as r:
            assert r.status == 200 and (await r.text()).startswith("0{")


async def test_expect_100_continue_is_answered(tmp_path: Path) -> None:
    async with running(tmp_path) as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        body = b'{"a": 1}'
        writer.write(b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 100")
        await reader.readline()
        writer.write(body)
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 201")
        writer.close()


async def test_any_other_route_layout_keeps_the_router() -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_get("/info", handler)
    app.router.add_route("*", "/{tail:.*}", handler)
    app.freeze()
    assert _dispatcher(app, fast=True) != app._handle
    assert _dispatcher(app, fast=False) == app._handle  # PLUME_FAST_PATHS=0: aiohttp's own router
    for extra in (lambda a: a.router.add_get("/x/{id}", handler), lambda a: a.router.add_static("/s", ".")):
        other = web.Application()
        extra(other)
        other.router.add_route("*", "/{tail:.*}", handler)
        other.freeze()
        assert _dispatcher(other, fast=True) == other._handle
