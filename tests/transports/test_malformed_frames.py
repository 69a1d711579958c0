"""Malformed engine.io/socket.io frames: the connection's problem, one WARNING line, no traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from tests.support.inprocess import running

FRAMES: list[str | bytes] = ["9", "", "4", "42", "4x", "4-1", "4" + "9" * 50, b"\x00\x01", "6", '42["find"', "45-"]


@pytest.mark.parametrize("frame", FRAMES, ids=[repr(f) for f in FRAMES])
async def test_a_malformed_frame_is_one_warning(tmp_path: Path, frame: str | bytes,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="backend.transports.socketio")
    caplog.set_level(logging.WARNING)
    async with running(tmp_path) as srv, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{srv.url}/socket.io/?EIO=4&transport=websocket")
        assert (await ws.receive_str()).startswith("0")
        await ws.send_str("40")
        while not (await ws.receive_str()).startswith("40"):
            pass
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
