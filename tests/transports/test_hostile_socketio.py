"""Hostile socket.io calls against a real ``plume serve``: each acks a Feathers error, never a 500 or a hang.

A listener connection checks that refused calls emit no event; the last test checks that the
server still answers, lost nothing and logged no traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from tests.support.inprocess import running
from tests.support.server import PlumeProcess
from tests.transports.hostile import (
    BAD_PAGING,
    BAD_QUERY_FIELDS,
    CONFIG,
    MAX_BODY,
    UNKNOWN_OPERATORS,
    assert_ack_error,
    no_tracebacks,
)

TIMEOUT = 10


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlumeProcess]:
    with PlumeProcess(tmp_path_factory.mktemp("hostile-sio"), config=CONFIG) as srv:
        yield srv


@pytest.fixture
async def sio(srv: PlumeProcess) -> AsyncIterator[socketio.AsyncClient]:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(srv.url, transports=["websocket"])
    yield client
    await client.disconnect()


async def call(sio: socketio.AsyncClient, method: str, *args: Any) -> Any:
    """Emit a Feathers call; returns the ack (an error dict, or the tuple ``(None, result)``)."""
    ack = await sio.call(method, args, timeout=TIMEOUT)
    return ack


async def test_too_many_arguments(sio: socketio.AsyncClient) -> None:
    assert_ack_error(await call(sio, "find", "things", {}, {}, {}), 400)
    assert_ack_error(await call(sio, "get", "things", "x", {}, {}), 400)
    assert_ack_error(await call(sio, "create", "things", {"a": 1}, {}, {}), 400)
    assert_ack_error(await call(sio, "patch", "things", "x", {}, {}, "extra"), 400)


@pytest.mark.parametrize("path", ["$bad", "a/../b", "a\x00b", "../../etc/passwd", "x" * 5000, ""])
async def test_unknown_path_with_an_invalid_name(sio: socketio.AsyncClient, path: str) -> None:
    ack = await call(sio, "find", path, {})
    assert_ack_error(ack, 404)


@pytest.mark.parametrize("path", [3, None, {"a": 1}, ["things"], True])
async def test_path_not_a_string(sio: socketio.AsyncClient, path: Any) -> None:
    assert_ack_error(await call(sio, "find", path, {}), 400)


async def test_no_arguments(sio: socketio.AsyncClient) -> None:
    assert_ack_error(await call(sio, "find"), 400)


@pytest.mark.parametrize("query", [[1], "x", 3, True])
async def test_query_not_an_object(sio: socketio.AsyncClient, query: Any) -> None:
    assert_ack_error(await call(sio, "find", "things", query), 400)
    assert_ack_error(await call(sio, "get", "things", "x", query), 400)


@pytest.mark.parametrize("method", ["frobnicate", "setup", "__init__", "_find", "upload"])
async def test_unknown_methods(sio: socketio.AsyncClient, method: str) -> None:
    assert_ack_error(await call(sio, method, "things", {}), 405)


@pytest.mark.parametrize("query", UNKNOWN_OPERATORS, ids=json.dumps)
async def test_unknown_operators(sio: socketio.AsyncClient, query: dict[str, Any]) -> None:
    assert_ack_error(await call(sio, "find", "things", query), 400)
    assert_ack_error(await call(sio, "remove", "multi", None, query), 400)


@pytest.mark.parametrize("query", BAD_PAGING, ids=json.dumps)
async def test_bad_paging(sio: socketio.AsyncClient, query: dict[str, Any]) -> None:
    assert_ack_error(await call(sio, "find", "things", query), 400)


async def test_in_with_ten_thousand_values(sio: socketio.AsyncClient) -> None:
    assert_ack_error(await call(sio, "find", "things", {"n": {"$in": list(range(10_000))}}), 400)


@pytest.mark.parametrize("name", BAD_QUERY_FIELDS)
async def test_bad_field_names_in_queries(sio: socketio.AsyncClient, name: str) -> None:
    assert_ack_error(await call(sio, "find", "things", {name: 1}), 400)
    assert_ack_error(await call(sio, "find", "things", {"$sort": {name: 1}}), 400)


@pytest.mark.parametrize("data", ["text", 3, True, [1, 2], [{"a": 1}, "x"]])
async def test_non_object_data(sio: socketio.AsyncClient, data: Any) -> None:
    assert_ack_error(await call(sio, "create", "multi", data), 400)


async def test_deeply_nested_data_and_query(sio: socketio.AsyncClient) -> None:
    deep: Any = 1
    for _ in range(300):  # python-socketio's client recurses while encoding: stay under its limit
        deep = {"a": deep}
    assert_ack_error(await call(sio, "create", "things", {"x": deep}), 400)
    assert_ack_error(await call(sio, "find", "things", {"x": deep}), 400)
    ors: Any = {"n": 1}
    for _ in range(200):
        ors = {"$or": [ors]}
    assert_ack_error(await call(sio, "find", "things", ors), 400)


@pytest.mark.parametrize("bad_id", [{"a": 1}, [1], {"$ne": None}])
async def test_ids_that_are_not_scalars(sio: socketio.AsyncClient, bad_id: Any) -> None:
    for method, args in (("get", ()), ("patch", ({"a": 1},)), ("remove", ()), ("update", ({"a": 1},))):
        assert_ack_error(await call(sio, method, "things", bad_id, *args), 400)


@pytest.mark.parametrize("bad_id", ["a" * 20_000, "a/b", "..", "été", "\x00"])
async def test_ids_of_the_wrong_shape(sio: socketio.AsyncClient, bad_id: str) -> None:
    for method, args in (("get", ()), ("patch", ({"a": 1},)), ("remove", ()), ("update", ({"a": 1},))):
        assert_ack_error(await call(sio, method, "things", bad_id, *args), 404)


async def test_update_without_id(sio: socketio.AsyncClient) -> None:
    assert_ack_error(await call(sio, "update", "things", None, {"a": 1}), 400)


async def test_weird_field_names_round_trip(sio: socketio.AsyncClient) -> None:
    data = {'q"uote': 1, "do.t": 2, "br[ack]et": 3, "ünïcödé ✓": 4, "back\\slash": 5, "nested": {"$d": 6}}
    err, created = await call(sio, "create", "things", data)
    assert err is None
    err, back = await call(sio, "get", "things", created["_id"])
    assert {k: back[k] for k in data} == data
    err, found = await call(sio, "find", "things", {"ünïcödé ✓": 4})
    assert err is None and [d["_id"] for d in found["data"]] == [created["_id"]]
    assert_ack_error(await call(sio, "create", "things", {"$set": {"a": 1}}), 400)


async def test_refused_calls_emit_no_events(srv: PlumeProcess, sio: socketio.AsyncClient) -> None:
    events: list[tuple[str, Any]] = []
    for name in ("created", "updated", "patched", "removed"):
        sio.on(f"things {name}", lambda data, name=name: events.append((name, data)))
        sio.on(f"multi {name}", lambda data, name=name: events.append((name, data)))
    await call(sio, "create", "things", "text")
    await call(sio, "create", "things", {"$x": 1})
    await call(sio, "patch", "things", "nope", {"a": 1})
    await call(sio, "remove", "multi", None, {"$where": "1"})
    await call(sio, "update", "things", None, {"a": 1})
    err, ok = await call(sio, "create", "things", {"marker": True})  # this one does emit
    assert err is None
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while ("created", ok) not in events:  # events come in order: a stray one would be before it
        assert asyncio.get_running_loop().time() < deadline, events
        await asyncio.sleep(0.01)
    assert events == [("created", ok)]


async def test_oversize_message_drops_only_that_connection(srv: PlumeProcess) -> None:
    """A message over max_body closes its socket (Engine.IO has no 413); nothing is stored."""
    big = socketio.AsyncClient(reconnection=False)
    await big.connect(srv.url, transports=["websocket"])
    try:
        ack = await big.call("create", ("things", {"blob": "x" * (2 * MAX_BODY), "oversize": True}), timeout=5)
        assert_ack_error(ack, 413)
    except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
        pass
    finally:
        await big.disconnect()
    other = socketio.AsyncClient(reconnection=False)
    await other.connect(srv.url, transports=["websocket"])
    err, found = await other.call("find", ("things", {"oversize": True}), timeout=TIMEOUT)
    await other.disconnect()
    assert err is None and found["total"] == 0


async def test_a_method_the_service_lacks(tmp_path: Path) -> None:
    """405 over both transports for a service that only implements ``find`` and ``get``."""

    class ReadOnly:
        async def find(self, params: Any) -> list[dict[str, Any]]:
            return [{"id": 1}]

        async def get(self, id: Any, params: Any) -> dict[str, Any]:
            return {"id": id}

    async with running(tmp_path) as server:
        await server.app.use("readonly", ReadOnly())
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(server.url, transports=["websocket"])
        try:
            for method, args in (("create", ({"a": 1},)), ("update", (1, {"a": 1})), ("patch", (1, {"a": 1})),
                                 ("remove", (1,))):
                assert_ack_error(await client.call(method, ("readonly", *args), timeout=TIMEOUT), 405)
            assert await client.call("get", ("readonly", "7"), timeout=TIMEOUT) == (None, {"id": "7"})
        finally:
            await client.disconnect()
        async with aiohttp.ClientSession() as http:
            for verb, path in (("POST", "/readonly"), ("PUT", "/readonly/1"), ("PATCH", "/readonly/1"),
                               ("DELETE", "/readonly/1")):
                async with http.request(verb, server.url + path, json={"a": 1}) as r:
                    body = await r.json()
                    assert r.status == 405 and body["name"] == "MethodNotAllowed", body


async def test_ten_thousand_levels_in_a_raw_packet(tmp_path: Path) -> None:
    with PlumeProcess(tmp_path / "deep") as server:
        async with aiohttp.ClientSession() as http, http.ws_connect(
                f"{server.url}/socket.io/?EIO=4&transport=websocket") as ws:
            assert (await ws.receive_str()).startswith("0")
            await ws.send_str("40")
            frames = [await ws.receive_str(), await ws.receive_str()]  # connect ack + init, any order
            assert any(f.startswith("40") for f in frames)
            await ws.send_str('421["create","things",{"x":' + "[" * 10_000 + "]" * 10_000 + "}]")
            await ws.send_str('422["find","things",{"$limit":0}]')
            acks = {}
            while len(acks) < 2:
                msg = await asyncio.wait_for(ws.receive_str(), 5)
                if msg.startswith("43"):
                    acks[msg[2]] = json.loads(msg[3:])
        assert acks["2"][1]["total"] == 0  # the connection still works
        assert_ack_error(acks["1"][0], 400)
        no_tracebacks(server.log())


async def test_server_still_healthy(srv: PlumeProcess, sio: socketio.AsyncClient) -> None:
    """Runs last: the server answers normally and logged no traceback."""
    err, created = await call(sio, "create", "things", {"after": True})
    assert err is None
    err, got = await call(sio, "get", "things", created["_id"])
    assert err is None and got == created
    no_tracebacks(srv.log())
