"""A raw engine.io websocket connected to namespace ``/``, for tests that send frames by hand."""

from __future__ import annotations

import aiohttp


async def raw_socket(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    """A websocket to ``url``'s socket.io endpoint, past engine.io's OPEN and socket.io's CONNECT."""
    ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str()).startswith("0")
    await ws.send_str("40")
    while not (await ws.receive_str()).startswith("40"):
        pass
    return ws
