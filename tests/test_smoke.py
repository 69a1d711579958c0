"""The server starts and answers over both transports, and REST writes reach socket clients."""

from __future__ import annotations

import asyncio

import aiohttp
import socketio

from backend import fastpaths
from tests.support.inprocess import Running


async def test_rest_write_reaches_socket_client(server: Running) -> None:
    sio = socketio.AsyncClient()
    got: asyncio.Queue[dict] = asyncio.Queue()
    init: asyncio.Queue[dict] = asyncio.Queue()
    sio.on("things created", got.put_nowait)
    sio.on("init", init.put_nowait)
    await sio.connect(server.url, transports=["websocket"])
    assert (await asyncio.wait_for(init.get(), 5))["auth"] is False
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/things", json={"a": 1}) as r:
            assert r.status == 201
            created = await r.json()
    event = await asyncio.wait_for(got.get(), 5)
    assert event == created
    err, found = await sio.call("get", ("things", created["_id"]), timeout=5)
    assert err is None and found == created
    await sio.disconnect()


async def test_websocket_frames_are_not_deflated(server: Running) -> None:
    # Guards the driver subclass in backend/transports/socketio.py against python-engineio changes:
    # no permessage-deflate on the fast path; python-engineio's own default (deflate) without it.
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/socket.io/?EIO=4&transport=websocket"
        async with http.ws_connect(url, compress=15) as ws:
            assert ws.compress == (0 if fastpaths.ENABLED else 15)
            assert (await ws.receive_str()).startswith("0{")  # engine.io open packet
