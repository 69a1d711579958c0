"""The sync DataStore/Service against a real ``plume serve``: methods, typed errors, paging, files, events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from python_client import DataStore
from python_client.errors import BadRequest, MethodNotAllowed, NotFound
from python_client.multipart import FilePart
from tests.support.server import PlumeProcess

from .faults import FaultProxy

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``check()`` holds (events arrive on another thread); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_the_six_methods(plume: PlumeProcess, name: str) -> None:
    with DataStore(plume.url) as store:
        people = store.service(name)
        ann = people.create({"name": "Ann", "age": 31})
        assert set(ann) == {"_id", "name", "age", "createdAt", "updatedAt"}
        assert people.get(ann["_id"])["name"] == "Ann"
        assert people.patch(ann["_id"], {"age": 32})["age"] == 32
        replaced = people.update(ann["_id"], {"name": "Ann B."})
        assert replaced["_id"] == ann["_id"] and "age" not in replaced
        people.create({"name": "Bob", "age": 25})
        page = people.find({"query": {"$sort": {"name": 1}, "$select": ["name"]}})
        assert page["total"] == 2 and [r["name"] for r in page["data"]] == ["Ann B.", "Bob"]
        assert people.find({"query": {"age": 25}})["total"] == 1  # REST text "25" finds the number
        assert people.remove(ann["_id"])["_id"] == ann["_id"]
        assert people.location == f"{plume.url}/{name}"


def test_server_errors_are_typed(plume: PlumeProcess, name: str) -> None:
    with DataStore(plume.url) as store:
        with pytest.raises(NotFound) as missing:
            store.service(name).get("0123456789abcdef01234567")
        assert missing.value.code == 404 and missing.value.attempts == 1  # a 404 is not retried
        with pytest.raises(BadRequest, match=r"\$where"):
            store.service(name).find({"query": {"$where": "1"}})
        with pytest.raises(BadRequest) as invalid:
            store.service("runs").create({"basename": "x", "status": "bogus"})
        assert invalid.value.errors  # the schema's failing fields
        with pytest.raises(MethodNotAllowed):
            store.service(name).patch(None, {"x": 1})  # multi patch is off


def test_items_yields_every_record_in_order(plume: PlumeProcess, name: str) -> None:
    with DataStore(plume.url) as store:
        svc = store.service(name)
        for i in range(23):
            svc.create({"i": i, "even": i % 2 == 0})
        assert [r["i"] for r in svc.items(page_size=4)] == list(range(23))
        assert [r["i"] for r in svc.items({"$sort": {"i": -1}, "$limit": 5})] == list(range(22, -1, -1))
        assert [r["i"] for r in svc.items({"even": True, "$select": ["i"]}, page_size=3)] == list(range(0, 23, 2))
        assert [r["i"] for r in svc.items({"$or": [{"i": 1}, {"i": 20}], "$skip": 1}, page_size=1)] == [20]
        assert list(svc.items({"i": 99})) == []


def test_items_while_pages_change(plume: PlumeProcess, name: str) -> None:
    with DataStore(plume.url) as store:
        svc = store.service(name)
        ids = [svc.create({"i": i})["_id"] for i in range(10)]
        seen: list[int] = []
        for record in svc.items(page_size=3):
            seen.append(record["i"])
            if len(seen) == 3:  # between pages: remove one seen and one unseen, add two more
                svc.remove(ids[0])
                svc.remove(ids[5])
                svc.create({"i": 10})
                svc.create({"i": 11})
        assert seen == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]  # each once, in order; the removed unseen one gone

        sorted_seen: list[int] = []
        for record in svc.items({"$sort": {"i": 1}}, page_size=3):
            sorted_seen.append(record["i"])
            if len(sorted_seen) == 3:
                svc.create({"i": -1})  # lands before the cursor: pushes seen records into the next page
        assert sorted_seen == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]  # never twice


def test_items_on_an_unpaginated_service(tmp_path: Path) -> None:
    config = '[services]\nallow = "*"\n[services.flat]\npaginate = false\n'
    with PlumeProcess(tmp_path, config=config) as srv, DataStore(srv.url) as store:
        flat = store.service("flat")
        for i in range(5):
            flat.create({"i": i})
        assert isinstance(flat.find(), list)
        assert [r["i"] for r in flat.items({"$sort": {"i": 1}})] == list(range(5))


def test_upload_and_download(plume: PlumeProcess, tmp_path: Path) -> None:
    photo = tmp_path / "holiday.png"
    photo.write_bytes(PNG)
    with DataStore(plume.url) as store:
        reply = store.service("assets").upload([FilePart.of(photo, field="photo.png", content_type="image/png")])
        folder, field = reply["holiday.png"].split("/")
        assert field == "photo.png"
        got = store.service("assets").download(folder, field, tmp_path / "back.png")
        assert got.read_bytes() == PNG
        with pytest.raises(NotFound):
            store.service("assets").download(folder, "nothing.png", tmp_path)
        assert not list(tmp_path.glob("*.part"))


def test_realtime_events(plume: PlumeProcess, name: str) -> None:
    events: list[tuple[str, Any]] = []
    with DataStore(plume.url) as store, DataStore(plume.url) as writer:
        svc = store.service(name)
        for event in ("created", "patched", "updated", "removed"):
            svc.on(event, lambda record, event=event: events.append((event, record["_id"])))

        def broken(record: Any) -> None:
            raise RuntimeError("a subscriber's bug")

        svc.on("created", broken)  # must not stop the other callbacks
        other = store.service(f"{name}x")
        other.on("created", lambda record: events.append(("other", record["_id"])))
        rec = writer.service(name).create({"a": 1})
        writer.service(name).patch(rec["_id"], {"a": 2})
        writer.service(name).update(rec["_id"], {"a": 3})
        writer.service(name).remove(rec["_id"])
        wait_for(lambda: len(events) == 4)
        assert events == [(e, rec["_id"]) for e in ("created", "patched", "updated", "removed")]
        svc.off("created")
        writer.service(name).create({"a": 4})
        wait_for(lambda: any(e == "patched" for e, _ in events))
        time.sleep(0.2)
        assert [e for e, _ in events].count("created") == 1
        with pytest.raises(ValueError):
            svc.on("changed", print)


def test_realtime_survives_a_server_restart(tmp_path: Path) -> None:
    srv = PlumeProcess(tmp_path).start()
    try:
        got = threading.Event()
        with DataStore(srv.url, timeout=5) as store:
            store.service("things").on("created", lambda record: got.set())
            srv.kill()
            srv.start()
            # python-socketio reconnects by itself; the next event reaches the same subscription.
            deadline = time.monotonic() + 20
            while not got.is_set() and time.monotonic() < deadline:
                store.service("things").create({"x": 1})
                got.wait(0.5)
            assert got.is_set()
    finally:
        srv.stop()


def test_credentials_go_on_every_request(plume: PlumeProcess, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    with FaultProxy(plume.url).threaded() as proxy:
        with DataStore(proxy.url, api_key="key-1") as store:
            store.service(name).find()
            store.credentials.set_token("jwt-2")  # as after a login: the token wins over the key
            store.service(name).find()
            store.logout()
            store.service(name).find()
        monkeypatch.setenv("PLUME_API_KEY", "key-env")
        with DataStore(proxy.url) as store:
            store.service(name).find()
        monkeypatch.delenv("PLUME_API_KEY")
        with DataStore(proxy.url) as store:
            store.service(name).find()
        auth = [seen.headers.get("Authorization") for seen in proxy.requests()]
    assert auth == ["Bearer key-1", "Bearer jwt-2", "Bearer key-1", "Bearer key-env", None]
