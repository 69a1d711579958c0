"""Real-time events: one per record, to every connection, the caller included; none for reads or failures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.clients import CallError, SocketClient


async def test_every_write_emits_to_every_connection(client: Any) -> None:
    watcher = await SocketClient(client.server.url).connect()
    try:
        rec = await client.call("create", "multi", {"a": 1})
        upd = await client.call("update", "multi", rec["_id"], {"a": 2})
        pat = await client.call("patch", "multi", rec["_id"], {"b": 3})
        rem = await client.call("remove", "multi", rec["_id"])
        last = await client.call("create", "multi", {"last": True})  # its event comes after any stray one
        events = await watcher.wait_events(5)
        assert events == [("multi created", rec), ("multi updated", upd), ("multi patched", pat),
                          ("multi removed", rem), ("multi created", last)]
        if isinstance(client, SocketClient):  # the caller receives its own events too
            assert await client.wait_events(5) == events
    finally:
        await watcher.close()


async def test_multi_writes_emit_one_event_per_record(client: Any) -> None:
    watcher = await SocketClient(client.server.url).connect()
    try:
        made = await client.call("create", "multi", [{"g": 1}, {"g": 1}, {"g": 2}])
        await client.call("patch", "multi", None, {"x": True}, {"g": 1})
        await client.call("remove", "multi", None, {})
        last = await client.call("create", "multi", {"last": True})
        events = await watcher.wait_events(9)
        kinds = [e[0] for e in events]
        assert kinds == ["multi created"] * 3 + ["multi patched"] * 2 + ["multi removed"] * 3 + ["multi created"]
        assert [e[1]["_id"] for e in events[:3]] == [m["_id"] for m in made] and events[-1][1] == last
    finally:
        await watcher.close()


async def test_reads_and_failures_emit_nothing(client: Any) -> None:
    rec = await client.call("create", "people", {"a": 1})
    watcher = await SocketClient(client.server.url).connect()
    try:
        await client.call("find", "people", {})
        await client.call("get", "people", rec["_id"])
        for call in (client.call("create", "people", [{"a": 1}]), client.call("patch", "people", "f" * 24, {}),
                     client.call("remove", "people", rec["_id"], {"a": 2})):
            with pytest.raises(CallError):
                await call
        last = await client.call("create", "people", {"last": True})  # the first event it may see
        assert await watcher.wait_events(1) == [("people created", last)]
    finally:
        await watcher.close()
