"""A socket.io client that stops reading cannot grow the server's memory: it is disconnected.

The hostile client is a real websocket that speaks engine.io, answers pings blindly and never
reads: aiohttp's client stops reading its socket once its buffer is full, so the server's writer
blocks on the full TCP window and, without a bound, every later event piles up in memory.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
import socketio

from backend.transports.sio_limits import PendingQueue
from backend.web import SOCKETIO_KEY
from tests.support.engineio import raw_socket
from tests.support.inprocess import Running, running

LIMIT = 1024 * 1024
RECORD = "x" * 64 * 1024


def pending(srv: Running) -> list[int]:
    """Bytes waiting in each connection's outgoing queue."""
    sockets = srv.runner.app[SOCKETIO_KEY].sio.eio.sockets
    return [s.queue.pending for s in sockets.values() if isinstance(s.queue, PendingQueue)]


async def test_a_client_that_never_reads_is_disconnected_and_memory_stays_bounded(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="backend.transports.socketio")
    async with running(tmp_path, max_pending=LIMIT) as srv, aiohttp.ClientSession() as http:
        reader = socketio.AsyncClient(reconnection=False)
        seen: list[str] = []
        reader.on("blobs created", lambda rec: seen.append(rec["_id"]))
        await reader.connect(srv.url, transports=["websocket"])
        ws = await raw_socket(http, srv.url)  # and then it never reads again
        while len(srv.app.connections) < 2:
            await asyncio.sleep(0.01)
        stalled_sid = next(sid for sid in srv.app.connections if sid != reader.get_sid())
        blobs = await srv.app.resolve("blobs")
        written, peak = [], 0
        for i in range(2000):  # 125 MB of events if nothing stopped them
            if stalled_sid not in srv.app.connections:
                break
            written.append((await blobs.create({"i": i, "payload": RECORD}))["_id"])
            peak = max([peak, *pending(srv)])
            if i % 20 == 0:
                await ws.send_str("3")  # a blind PONG: the client looks alive
        assert stalled_sid not in srv.app.connections, "the stalled client was never disconnected"
        assert peak <= LIMIT
        # The well-behaved client got every event, the ones after the disconnect included.
        last = (await blobs.create({"i": -1}))["_id"]
        while last not in seen:
            await asyncio.sleep(0.01)
        assert seen == [*written, last]
        await reader.disconnect()
        await ws.close()
    warnings = [r for r in caplog.records if "does not read its events" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert "max_pending is 1048576" in warnings[0].getMessage()
