"""Malformed engine.io/socket.io frames: the connection's problem, one WARNING line, no traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from tests.support.engineio import raw_socket
from tests.support.inprocess import running

FRAMES: list[str | bytes] = ["9", "", "4", "42", "4x", "4-1", "4" + "9" * 50, b"\x00\x01", "6", '42["find"', "45-",
                             '42[["find"]]', "42[]", "42[1]", "42{}", '42"find"']


@pytest.mark.parametrize("frame", FRAMES, ids=[repr(f) for f in FRAMES])
async def test_a_malformed_frame_is_one_warning(tmp_path: Path, frame: str | bytes,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="backend.transports.socketio")
    caplog.set_level(logging.WARNING)
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        ws = await raw_socket(http, srv.url)
        await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        await ws.close()
        # Whatever the frame did to its own connection, the server serves others.
        async with http.get(f"{srv.url}/info") as r:
            assert r.status == 200
        ws2 = await http.ws_connect(f"{srv.url}/socket.io/?EIO=4&transport=websocket")
        assert (await ws2.receive_str()).startswith("0")
        await ws2.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]


@pytest.mark.parametrize("data", ['[["find"], "things"]', "[]", "[1, 2]", "{}", '"find"', "null"])
async def test_an_event_without_a_string_name_is_acked_400(tmp_path: Path, data: str) -> None:
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        ws = await raw_socket(http, srv.url)
        await ws.send_str("427" + data)
        ack = await ws.receive_str()
        assert ack.startswith("437["), ack
        error = json.loads(ack[3:])[0]
        assert error["code"] == 400 and "Invalid message" in error["message"], error
        await ws.close()


@pytest.mark.parametrize("headers", [{}, {"Upgrade": "websocket"}, {"Upgrade": "websocket", "Origin": "http://x.org"},
                                     {"Connection": "upgrade"}])
async def test_a_websocket_request_that_is_no_upgrade_is_400(tmp_path: Path, headers: dict[str, str],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.url}/socket.io/?EIO=4&transport=websocket", headers=headers) as r:
            assert r.status == 400, await r.text()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
