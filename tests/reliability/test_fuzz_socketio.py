"""Property-based fuzzing of the socket.io surface: every call is acked (no hang) with a result or a
Feathers error below 500, whatever its method, path and arguments; raw engine.io frames of any
shape hurt only their own connection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.conftest import EXAMPLES, FuzzServer, server_log_clean
from tests.reliability.test_fuzz_rest import FIELDS, SERVICES, json_values

TIMEOUT = 15  # seconds: an ack that takes longer is a hang, and fails the test
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("PLUME_FUZZ_RANDOM") is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
METHODS = ["find", "get", "create", "update", "patch", "remove", "upload", "download", "predict", "x"]
# Names python-socketio's client itself refuses to emit.
RESERVED = {"connect", "connect_error", "disconnect", "message", "newListener", "removeListener"}

queries = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4)
args = st.lists(st.one_of(json_values, queries), max_size=5)


@pytest.fixture(scope="module")
def clients(fuzz_server: FuzzServer) -> Iterator[list[socketio.Client]]:
    """An anonymous connection and one logged in as the editor."""
    anonymous, editor = socketio.Client(reconnection=False), socketio.Client(reconnection=False)
    for client in (anonymous, editor):
        client.connect(fuzz_server.url, transports=["websocket"], wait_timeout=TIMEOUT)
    ack = editor.call("create", ("authentication", {"strategy": "jwt", "accessToken": fuzz_server.token}),
                      timeout=TIMEOUT)
    assert ack[0] is None, ack
    yield [anonymous, editor]
    for client in (anonymous, editor):
        client.disconnect()


def check_ack(ack: Any) -> None:
    """``(None, result)`` or a Feathers error below 500."""
    if isinstance(ack, tuple) and len(ack) == 2 and ack[0] is None:
        return
    error = ack[0] if isinstance(ack, tuple) else ack
    assert isinstance(error, dict) and isinstance(error.get("name"), str), ack
    assert 400 <= error["code"] < 500, ack


@FUZZ
@given(method=st.one_of(st.sampled_from(METHODS), st.text(max_size=10)),
       path=st.one_of(st.sampled_from(SERVICES), st.text(max_size=12), json_values),
       rest=args, who=st.integers(0, 1))
def test_socketio_calls_are_always_acked_below_500(clients: list[socketio.Client], method: str, path: Any,
                                                   rest: list[Any], who: int) -> None:
    if method in RESERVED:
        return
    client = clients[who]
    assert client.connected, "the server dropped a connection"
    check_ack(client.call(method, (path, *rest), timeout=TIMEOUT))


frames = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60),
    st.tuples(st.sampled_from(["4", "40", "42", "43", "45", "451-", "2", "3", "5", "6", "41", "44"]),
              st.text(max_size=40)).map("".join),
    st.tuples(st.sampled_from(["42", "420", "4299999999999999999"]), json_values).map(
        lambda t: t[0] + __import__("json").dumps(t[1])),
)


@FUZZ
@given(frame=frames)
def test_raw_engineio_frames_hurt_only_their_connection(fuzz_server: FuzzServer, frame: str | bytes) -> None:
    ws = websocket.create_connection(f"ws://127.0.0.1:{fuzz_server.srv.port}/socket.io/?EIO=4&transport=websocket",
                                     timeout=TIMEOUT)
    try:
        assert ws.recv().startswith("0")
        ws.send("40")
        while not str(ws.recv()).startswith("40"):
            pass
        if isinstance(frame, bytes):
            ws.send_binary(frame)
        else:
            ws.send(frame)
    except (websocket.WebSocketException, ConnectionError):
        pass  # the server may close this connection: that is its right
    finally:
        ws.close()


def test_the_server_still_serves_and_logged_no_error(fuzz_server: FuzzServer, clients: list[socketio.Client]) -> None:
    """Runs last in the module."""
    assert requests.get(f"{fuzz_server.url}/info", timeout=TIMEOUT).status_code == 200
    for client in clients:
        check_ack(client.call("find", ("fuzz", {"$limit": 1}), timeout=TIMEOUT))
    server_log_clean(fuzz_server)
