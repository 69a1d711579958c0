"""The socket.io transport's websocket driver: Plume's additions, and its fast path behind the switch."""

from __future__ import annotations

import pytest
import socketio
from engineio.async_drivers.aiohttp import WebSocket

from backend.transports.socketio import _plume_websockets


@pytest.mark.parametrize("fast", [True, False])
def test_the_websocket_send_shortcut_is_a_fast_path(fast: bool) -> None:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    _plume_websockets(sio, fast=fast)
    driver = sio.eio._async["websocket"]
    assert issubclass(driver, WebSocket) and driver is not WebSocket
    # PLUME_FAST_PATHS=0 (fast False): engine.io's own send, checks and all.
    assert (driver.send is WebSocket.send) is not fast
