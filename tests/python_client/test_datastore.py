"""Both client shells against a real server: methods, typed errors, paging, files, events.

Every test here runs once per shell (``DataStore`` and ``AsyncDataStore``, the ``shell`` fixture):
one body, the same assertions (see ``shells.py``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web

from python_client.connection import State
from python_client.errors import BadRequest, MethodNotAllowed, NotFound
from python_client.methods import METHODS
from python_client.multipart import FilePart
from tests.support.inprocess import Running, running
from tests.support.server import PlumeProcess, free_port

from .faults import FaultProxy
from .shells import Inbox, Shell, eventually, png


async def test_the_six_methods(shell: Shell, server: Running, name: str) -> None:
    async with shell.store(server.url) as store:
        people = store.service(name)
        ann = await people.create({"name": "Ann", "age": 31})
        assert set(ann) == {"_id", "name", "age", "createdAt", "updatedAt"}
        assert (await people.get(ann["_id"]))["name"] == "Ann"
        assert (await people.patch(ann["_id"], {"age": 32}))["age"] == 32
        replaced = await people.update(ann["_id"], {"name": "Ann B."})
        assert replaced["_id"] == ann["_id"] and "age" not in replaced
        await people.create({"name": "Bob", "age": 25})
        page = await people.find({"query": {"$sort": {"name": 1}, "$select": ["name"]}})
        assert page["total"] == 2 and [r["name"] for r in page["data"]] == ["Ann B.", "Bob"]
        assert (await people.find({"query": {"age": 25}}))["total"] == 1  # REST text "25" finds the number
        assert (await people.find(params={"query": {"$limit": 0}}))["total"] == 2
        assert (await people.remove(ann["_id"]))["_id"] == ann["_id"]
        with pytest.raises(NotFound):
            await people.get(ann["_id"])
        assert people.location == f"{server.url}/{name}"
        assert name in (await store.info())["services"]


async def test_the_methods_come_from_the_table(shell: Shell, server: Running, name: str) -> None:
    async with shell.store(server.url) as store:
        people = store.service(name)
        for method, spec in METHODS.items():
            fn = getattr(type(people.raw), method)
            assert list(inspect.signature(fn).parameters) == ["self", *spec.args, "params"]
            assert inspect.iscoroutinefunction(fn) is shell.asynchronous
            assert fn.__doc__ == spec.doc and fn.__name__ == method
        with pytest.raises(TypeError, match="missing a required argument: 'id'"):
            await people.get()
        with pytest.raises(TypeError, match="too many positional arguments"):
            await people.remove("a", None, "extra")
        with pytest.raises(ValueError, match=r"get\(\) needs an id"):
            await people.get(None)


async def test_server_errors_are_typed(shell: Shell, server: Running, name: str) -> None:
    async with shell.store(server.url) as store:
        with pytest.raises(NotFound) as missing:
            await store.service(name).get("0123456789abcdef01234567")
        assert missing.value.code == 404 and missing.value.attempts == 1  # a 404 is not retried
        with pytest.raises(BadRequest, match=r"\$where"):
            await store.service(name).find({"query": {"$where": "1"}})
        with pytest.raises(BadRequest):
            await store.service(name).find({"query": {"$regex": "x"}})
        with pytest.raises(BadRequest) as invalid:
            await store.service("runs").create({"basename": "x", "status": "bogus"})
        assert invalid.value.errors  # the schema's failing fields
        with pytest.raises(MethodNotAllowed):
            await store.service(name).patch(None, {"x": 1})  # multi patch is off


async def test_items_yields_every_record_in_order(shell: Shell, server: Running, name: str) -> None:
    async with shell.store(server.url) as store:
        svc = store.service(name)
        for i in range(23):
            await svc.create({"i": i, "even": i % 2 == 0})
        assert [r["i"] for r in await svc.items(page_size=4)] == list(range(23))
        assert [r["i"] for r in await svc.items({"$sort": {"i": -1}, "$limit": 5})] == list(range(22, -1, -1))
        assert [r["i"] for r in await svc.items({"even": True, "$select": ["i"]}, page_size=3)] == list(range(0, 23, 2))
        assert [r["i"] for r in await svc.items({"$or": [{"i": 1}, {"i": 20}], "$skip": 1}, page_size=1)] == [20]
        assert [r["i"] for r in await svc.items({"i": {"$gte": 0}}, page_size=2)] == list(range(23))
        assert [r["i"] for r in await svc.items({"$sort": {"i": -1}, "i": {"$lt": 3}})] == [2, 1, 0]
        assert await svc.items({"i": 99}) == []
        assert (await svc.find({"query": {"$limit": 0}}))["total"] == 23


async def test_items_while_pages_change(shell: Shell, server: Running, name: str) -> None:
    async with shell.store(server.url) as store:
        svc = store.service(name)
        ids = [(await svc.create({"i": i}))["_id"] for i in range(10)]

        async def remove_and_add(seen: list[Any]) -> None:
            if len(seen) == 3:  # between pages: remove one seen and one unseen, add two more
                await svc.remove(ids[0])
                await svc.remove(ids[5])
                await svc.create({"i": 10})
                await svc.create({"i": 11})

        seen = await svc.walk(None, 3, remove_and_add)
        assert [r["i"] for r in seen] == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]  # each once, in order

        async def add_before(seen: list[Any]) -> None:
            if len(seen) == 3:
                await svc.create({"i": -1})  # lands before the cursor: pushes seen records into the next page

        sorted_seen = await svc.walk({"$sort": {"i": 1}}, 3, add_before)
        assert [r["i"] for r in sorted_seen] == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]  # never twice


async def test_items_on_an_unpaginated_service(shell: Shell, tmp_path: Path) -> None:
    config = '[services]\nallow = "*"\n[services.flat]\npaginate = false\n'
    async with running(tmp_path, config=config) as srv, shell.store(srv.url) as store:
        flat = store.service("flat")
        for i in range(5):
            await flat.create({"i": i})
        assert isinstance(await flat.find(), list)
        assert [r["i"] for r in await flat.items({"$sort": {"i": 1}})] == list(range(5))


async def test_upload_and_download(shell: Shell, server: Running, tmp_path: Path) -> None:
    photo = png(tmp_path / "holiday.png")
    sound = tmp_path / "sound.wav"
    sound.write_bytes(b"RIFF" + bytes(5000))
    async with shell.store(server.url) as store:
        assets = store.service("assets")
        reply = await assets.upload([FilePart.of(photo, field="photo.png", content_type="image/png")])
        folder, field = reply["holiday.png"].split("/")
        assert field == "photo.png"
        got = await assets.download(folder, field, tmp_path / "back.png")
        assert got == tmp_path / "back.png" and got.read_bytes() == photo.read_bytes()
        reply = await assets.upload([FilePart.of(sound, content_type="audio/wav")])
        folder, field = reply["sound.wav"].split("/")
        assert (await assets.download(folder, field, tmp_path / "copy.wav")).read_bytes() == sound.read_bytes()
        with pytest.raises(NotFound):
            await assets.download(folder, "nothing.png", tmp_path / "nothing.png")
        assert not (tmp_path / "nothing.png").exists() and not list(tmp_path.glob("*.part"))


async def test_realtime_events(shell: Shell, server: Running, name: str) -> None:
    inbox = Inbox()
    async with shell.store(server.url) as store, shell.store(server.url) as writer:
        svc = store.service(name)
        for event in ("created", "patched", "updated", "removed"):
            await svc.on(event, inbox.collect(event))

        def broken(record: Any) -> None:
            raise RuntimeError("a subscriber's bug")

        await svc.on("created", broken)  # must not stop the other callbacks
        await store.service(f"{name}x").on("created", inbox.collect("other"))
        assert store.realtime.connected and not store.realtime.server_auth
        assert store.realtime.machine.state is State.READY
        rec = await writer.service(name).create({"a": 1})
        await writer.service(name).patch(rec["_id"], {"a": 2})
        await writer.service(name).update(rec["_id"], {"a": 3})
        await writer.service(name).remove(rec["_id"])
        await inbox.until(lambda items: len(items) == 4)
        assert inbox.items == [(e, rec["_id"]) for e in ("created", "patched", "updated", "removed")]

        svc.off("created")
        unseen = await writer.service(name).create({"a": 4})  # no callback left for it
        await writer.service(name).patch(unseen["_id"], {"a": 5})  # seen; events arrive in order
        await inbox.until(lambda items: ("patched", unseen["_id"]) in items)
        assert inbox.items[4:] == [("patched", unseen["_id"])]  # its "created" never came, nor "other"
        with pytest.raises(ValueError, match="unknown event 'changed'"):
            await svc.on("changed", print)


async def test_async_callbacks_are_awaited(server: Running, name: str) -> None:
    inbox = Inbox()
    shell = Shell("async")

    async def on_removed(record: Any) -> None:
        inbox.add(("removed", record["i"]))

    async with shell.store(server.url) as listener, shell.store(server.url) as writer:
        svc = listener.service(name)
        await svc.on("created", lambda record: inbox.add(("created", record["i"])))
        await svc.on("removed", on_removed)
        rec = await writer.service(name).create({"i": 1})
        await writer.service(name).remove(rec["_id"])
        assert await inbox.until(lambda items: len(items) == 2) == [("created", 1), ("removed", 1)]


async def test_realtime_survives_a_server_restart(shell: Shell, tmp_path: Path) -> None:
    srv = PlumeProcess(tmp_path).start()
    inbox = Inbox()
    try:
        async with shell.store(srv.url, timeout=5) as store:
            await store.service("things").on("created", inbox.collect("created"))
            machine = store.realtime.machine
            assert machine.lives == 1
            await asyncio.to_thread(srv.kill)
            await asyncio.to_thread(srv.start)
            # python-socketio reconnects by itself; the next event reaches the same subscription.
            await eventually(lambda: machine.lives == 2 and machine.state is State.READY)
            rec = await store.service("things").create({"x": 1})
            assert await inbox.until(lambda items: len(items) == 1) == [("created", rec["_id"])]
    finally:
        srv.stop()


async def test_credentials_go_on_every_request(shell: Shell, server: Running, name: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    async with FaultProxy(server.url) as proxy:
        async with shell.store(proxy.url, api_key="key-1") as store:
            await store.service(name).find()
            store.credentials.set_token("jwt-2")  # as after a login: the token wins over the key
            await store.service(name).find()
            await store.logout()
            await store.service(name).find()
        monkeypatch.setenv("PLUME_API_KEY", "key-env")
        async with shell.store(proxy.url) as store:
            await store.service(name).find()
        monkeypatch.delenv("PLUME_API_KEY")
        async with shell.store(proxy.url) as store:
            await store.service(name).find()
        auth = [seen.headers.get("Authorization") for seen in proxy.requests()]
        probes = [seen.headers.get("Authorization") for seen in proxy.probes]
    assert auth == ["Bearer key-1", "Bearer jwt-2", "Bearer key-1", "Bearer key-env", None]
    assert probes == ["Bearer key-1", "Bearer key-env", None]  # one GET /info per store, with its credentials


async def test_a_server_that_sends_no_init_is_warned_about(shell: Shell, caplog: pytest.LogCaptureFixture) -> None:
    """A socket.io server that is not Plume (no ``init``): ``on`` returns after the timeout, with a warning."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)

    async def info(_: web.Request) -> web.Response:
        return web.json_response({"services": []})

    app.router.add_get("/info", info)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with shell.store(f"http://127.0.0.1:{port}", timeout=0.5) as store:
            with caplog.at_level(logging.WARNING, "python_client"):
                await store.service("things").on("created", print)
            assert store.realtime.connected and store.realtime.machine.state is State.WAITING_INIT
    finally:
        await runner.cleanup()
    assert f"no init from http://127.0.0.1:{port} within 0.5s: events may need authentication" in caplog.messages
