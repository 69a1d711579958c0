"""CORS on every route (REST, /info, socket.io): allowed origins get the headers, preflights a 204."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.support.inprocess import running

ORIGIN = "http://dashboard.example"
ALLOW = {
    "Access-Control-Allow-Origin": ORIGIN,
    "Vary": "Origin",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Service-Method, Range, If-None-Match",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, ETag",
}


def has_cors(headers: aiohttp.typedefs.LooseHeaders) -> bool:
    return all(headers.get(k) == v for k, v in ALLOW.items())  # type: ignore[union-attr]


async def test_allowed_origin_on_every_route_and_answer(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession(headers={"Origin": ORIGIN}) as http:
        async with http.post(f"{srv.url}/things", json={"a": 1}) as r:
            assert r.status == 201 and has_cors(r.headers)
            rid = (await r.json())["_id"]
        for url in (f"/things/{rid}", "/things?a=1", "/info", "/things/nope", "/a/b/c/d/e"):
            async with http.get(srv.url + url) as r:
                assert r.status in (200, 404) and has_cors(r.headers), url
        async with http.post(f"{srv.url}/things", data=b"{not json", headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400 and has_cors(r.headers)
        async with http.get(f"{srv.url}/socket.io/", params={"EIO": "4", "transport": "polling"}) as r:
            assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_preflight_is_answered_before_routing(tmp_path: Path) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        for url in ("/things", "/things/x", "/info", "/socket.io/"):
            async with http.options(srv.url + url, headers={"Origin": ORIGIN,
                                                           "Access-Control-Request-Method": "PATCH"}) as r:
                assert r.status == 204 and has_cors(r.headers), url
                assert await r.read() == b""


async def test_no_headers_without_an_allowed_origin(tmp_path: Path) -> None:
    async with running(tmp_path, cors=["http://other.example"]) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/things", headers={"Origin": ORIGIN}) as r:
            assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
        async with http.get(f"{srv.url}/things") as r:
            assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
        async with http.get(f"{srv.url}/things", headers={"Origin": "http://other.example"}) as r:
            assert r.headers["Access-Control-Allow-Origin"] == "http://other.example"
