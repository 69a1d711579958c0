"""Slow clients cannot hold connections: header and body deadlines, and a connection cap.

Each test talks raw TCP to a real server, as a slowloris client would; the server must answer
408 (or 503 past the cap) and close. The waits below are for failure only: a test that never
sees the close fails when its read times out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.support.inprocess import Running, running

FAIL_AFTER = 30.0  # seconds before a test gives up on a close that never comes


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Clients can make all of this happen at will: it is never an ERROR (nor a traceback)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def connect(srv: Running) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", srv.port)


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict]:
    """The one response the server sends before closing: (status, JSON body)."""
    raw = await asyncio.wait_for(reader.read(), FAIL_AFTER)  # until EOF: the server closed
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


async def trickle(writer: asyncio.StreamWriter, chunks: list[bytes], every: float) -> None:
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(every)
    except ConnectionError:
        pass  # closed by the server: what the test waits for


async def test_headers_that_trickle_are_cut_at_header_timeout(tmp_path: Path) -> None:
    async with running(tmp_path, header_timeout=1) as srv:
        reader, writer = await connect(srv)
        feeder = asyncio.create_task(trickle(writer, [b"GET /info HTTP/1.1\r\n", *[b"X-A: b\r\n"] * 1000], 0.2))
        status, body = await answer(reader)
        assert (status, body["name"]) == (408, "Timeout")
        assert "request headers" in body["message"]
        await feeder
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (fails after FAIL_AFTER). A
    close with bytes of ours still unread is a reset (TCP's rule): closed all the same."""
    try:
        return await asyncio.wait_for(reader.read(), FAIL_AFTER)
    except ConnectionResetError:
        return b""


async def test_a_silent_connection_is_closed(tmp_path: Path) -> None:
    """A connection that never sends a byte is closed after header_timeout: the header clock
    starts when the connection opens, not at its first byte."""
    async with running(tmp_path, header_timeout=1) as srv:
        reader, writer = await connect(srv)
        raw = await closed_by_server(reader)
        assert raw == b"" or raw.startswith(b"HTTP/1.1 408")
        writer.close()


async def test_a_crlf_trickle_is_closed(tmp_path: Path) -> None:
    """Blank lines (which HTTP lets a client send before a request line) do not reset the clock."""
    async with running(tmp_path, header_timeout=1) as srv:
        reader, writer = await connect(srv)
        feeder = asyncio.create_task(trickle(writer, [b"\r\n"] * 10_000, 0.5))
        raw = await closed_by_server(reader)
        assert raw == b"" or raw.startswith(b"HTTP/1.1 408")
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        writer.close()


async def test_a_silent_connection_does_not_hold_a_slot(tmp_path: Path) -> None:
    """Silent connections filling max_connections are swept, and real clients are served again."""
    async with running(tmp_path, header_timeout=1, max_connections=4) as srv, aiohttp.ClientSession() as http:
        idle = [await connect(srv) for _ in range(4)]
        for reader, _ in idle:
            await closed_by_server(reader)
        # They keep their end open (as an attacker would): the server's closes on its own.
        await asyncio.wait_for(served(http, f"{srv.url}/info"), FAIL_AFTER)
        for _, w in idle:
            w.close()


async def served(http: aiohttp.ClientSession, url: str) -> None:
    """Return once ``url`` answers 200 (a connection slot is free again)."""
    while True:
        try:
            async with http.get(url) as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)


async def test_a_stalled_body_is_cut_at_body_timeout(tmp_path: Path) -> None:
    async with running(tmp_path, body_timeout=1) as srv:
        reader, writer = await connect(srv)
        writer.write(b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"a\": ")
        status, body = await answer(reader)
        assert (status, body["name"]) == (408, "Timeout") and "request body" in body["message"]
        writer.close()
        assert (await (await srv.app.resolve("things")).find())["total"] == 0


async def test_a_body_that_trickles_too_slowly_is_cut(tmp_path: Path) -> None:
    async with running(tmp_path, body_timeout=1) as srv:
        reader, writer = await connect(srv)
        writer.write(b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n")
        feeder = asyncio.create_task(trickle(writer, [b" "] * 10000, 0.05))  # 20 bytes a second
        status, body = await answer(reader)
        assert status == 408 and "too slow" in body["message"]
        await feeder
        writer.close()


async def test_past_max_connections_a_connection_is_refused_with_503(tmp_path: Path) -> None:
    async with running(tmp_path, max_connections=4) as srv, aiohttp.ClientSession() as http:
        idle = [await connect(srv) for _ in range(4)]
        reader, writer = await connect(srv)
        status, body = await answer(reader)
        assert (status, body["name"]) == (503, "Unavailable")
        writer.close()
        for _, w in idle:
            w.close()
        # Once those are gone, connections are served again.
        while True:
            try:
                async with http.get(f"{srv.url}/info") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)


async def test_ordinary_clients_are_unaffected(tmp_path: Path) -> None:
    """Keep-alive requests, a socket.io connection older than every deadline, and a body that
    arrives in pieces but in time all work."""
    async with running(tmp_path, header_timeout=1, body_timeout=1) as srv, aiohttp.ClientSession() as http:
        sio = socketio.AsyncClient(reconnection=False)
        events: list[dict] = []
        sio.on("things created", events.append)
        await sio.connect(srv.url, transports=["websocket"])
        reader, writer = await connect(srv)
        body = json.dumps({"n": 1, "pad": "x" * 6000}).encode()
        writer.write(b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode())
        # Pieces every 0.3 s (3.3 kB/s, three times the floor): past body_timeout in all, fast enough.
        for i in range(0, len(body), 1000):
            writer.write(body[i:i + 1000])
            await writer.drain()
            await asyncio.sleep(0.3)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), FAIL_AFTER)
        assert head.startswith(b"HTTP/1.1 201")
        writer.close()
        for i in range(3):  # the same keep-alive connection, with pauses longer than the deadlines
            async with http.post(f"{srv.url}/things", json={"n": 2 + i}) as r:
                assert r.status == 201
            await asyncio.sleep(1.2)
        while len(events) < 4:
            await asyncio.sleep(0.01)
        assert sio.connected and [e["n"] for e in events] == [1, 2, 3, 4]
        await sio.disconnect()
