"""MongoDB specifics: ObjectId storage, dates, indexes, custom ids, driver errors as Feathers errors.

Runs over mongomock-motor, and also over a real server when ``PLUME_TEST_MONGODB_URL`` is set (a
fresh database per test, dropped after). The conformance suite covers the shared semantics.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from bson import ObjectId
from bson.errors import InvalidDocument
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    DocumentTooLarge,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from backend.errors import BadRequest, Conflict, GeneralError, NotFound, PayloadTooLarge, Unavailable
from backend.hooks import Params
from backend.storage.base import AdapterOptions, Paginate
from backend.storage.blobs import BlobStore
from backend.storage.blobs.gridfs import GridFSBlobStore
from backend.storage.mongodb import MongoStorage, driver_error
from tests.services.files.support import post_form
from tests.support.inprocess import running

URLS = ["mongomock://localhost/plume_unit"]
if os.environ.get("PLUME_TEST_MONGODB_URL"):
    URLS.append(os.environ["PLUME_TEST_MONGODB_URL"])


@pytest.fixture(params=URLS, ids=lambda u: u.split(":")[0])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[MongoStorage]:
    base = str(request.param).split("?")[0].rsplit("/", 1)[0]
    s = MongoStorage(f"{base}/plume_unit_{uuid.uuid4().hex[:12]}")
    yield s
    await s.client.drop_database(s.db.name)
    await s.close()


async def test_ids_are_object_ids_inside_and_strings_outside(storage: MongoStorage) -> None:
    a = storage.adapter("things", AdapterOptions())
    rec = await a.create({"n": 1}, Params())
    raw = await storage.db["things"].find_one({})
    assert isinstance(raw["_id"], ObjectId) and str(raw["_id"]) == rec["_id"]
    assert (await a.get(rec["_id"], Params()))["n"] == 1
    for query in ({"_id": {"$in": [rec["_id"]]}}, {"_id": rec["_id"]}, {"_id": {"$nin": ["x" * 24]}}):
        assert (await a.find(Params(query=query)))["total"] == 1, query
    assert (await a.find(Params(query={"_id": {"$ne": rec["_id"]}})))["total"] == 0
    with pytest.raises(NotFound):
        await a.get("not-an-object-id", Params())
    with pytest.raises(Conflict):
        await a.create({"_id": rec["_id"]}, Params())
    # A string id that is not 24-hex stays a string.
    named = await a.create({"_id": "my-id", "n": 2}, Params())
    assert (await storage.db["things"].find_one({"_id": "my-id"}))["n"] == 2
    assert (await a.patch(named["_id"], {"n": 3}, Params()))["n"] == 3


async def test_a_failed_multi_create_stores_none_and_keeps_what_existed(storage: MongoStorage) -> None:
    a = storage.adapter("things", AdapterOptions(multi=True))
    old = await a.create({"n": "old"}, Params())
    with pytest.raises(Conflict):
        await a.create([{"n": 1}, {"_id": old["_id"], "n": 2}, {"n": 3}], Params())
    assert [r["n"] for r in (await a.find(Params()))["data"]] == ["old"]


async def test_timestamps_leave_as_sent_and_range_compare_as_dates(storage: MongoStorage) -> None:
    a = storage.adapter("runs", AdapterOptions())
    for stamp in ("2026-11-22T09:59:59.999Z", "2026-11-22T10:00:00.000Z", "2026-11-23T00:00:00.000Z"):
        await a.create({"createdAt": stamp}, Params())
    found = await a.find(Params(query={"createdAt": {"$gte": "2026-11-22T10:00:00.000Z"}, "$sort": {"createdAt": 1}}))
    assert [r["createdAt"] for r in found["data"]] == ["2026-11-22T10:00:00.000Z", "2026-11-23T00:00:00.000Z"]


async def test_custom_id_field_and_indexes(storage: MongoStorage) -> None:
    a = storage.adapter("runs", AdapterOptions(id="id", indexes=["name", ["createdAt", -1]]))
    await a.setup(None, "runs")
    await a.create({"id": "run-1", "name": "x"}, Params())
    with pytest.raises(Conflict):
        await a.create({"id": "run-1"}, Params())
    info = await storage.db["runs"].index_information()
    keys = sorted(tuple(v["key"]) for v in info.values())
    assert (("createdAt", -1),) in keys and (("name", 1),) in keys and (("id", 1),) in keys
    assert "_id" not in await a.get("run-1", Params())
    assert (await a.update("run-1", {"name": "y"}, Params())) == {"id": "run-1", "name": "y"}
    assert await a.find(Params(query={"$distinct": "name"})) == ["y"]


async def test_totals_can_be_turned_off(storage: MongoStorage) -> None:
    a = storage.adapter("big", AdapterOptions(paginate=Paginate(default=2, max=10, total=False)))
    for i in range(3):
        await a.create({"n": i}, Params())
    page = await a.find(Params())
    assert page["total"] == -1 and page["limit"] == 2 and len(page["data"]) == 2


@pytest.mark.parametrize(("exc", "expected"), [
    (DuplicateKeyError("E11000"), Conflict),
    (BulkWriteError({"writeErrors": [{"code": 11000}], "nInserted": 0}), Conflict),
    (BulkWriteError({"writeErrors": [{"code": 121}], "nInserted": 0}), GeneralError),
    (ServerSelectionTimeoutError("no servers"), Unavailable),
    (AutoReconnect("primary stepped down"), Unavailable),
    (NetworkTimeout("timed out"), Unavailable),
    (ExecutionTimeout("operation exceeded time limit"), Unavailable),
    (DocumentTooLarge("too big"), PayloadTooLarge),
    (InvalidDocument("cannot encode"), BadRequest),
    (OverflowError("MongoDB can only handle up to 8-byte ints"), BadRequest),
    (OperationFailure("anything else"), GeneralError),
])
def test_driver_errors_become_feathers_errors(exc: Exception, expected: type) -> None:
    mapped = driver_error(exc)
    assert type(mapped) is expected
    assert "E11000" not in str(mapped) and "8-byte" not in str(mapped)  # driver text is logged, not sent


async def test_unreachable_server_is_503() -> None:
    s = MongoStorage("mongodb://127.0.0.1:9/plume", timeout_ms=300)
    a = s.adapter("things", AdapterOptions())
    with pytest.raises(Unavailable):
        await a.find(Params())
    with pytest.raises(Unavailable):
        await a.create({"n": 1}, Params())
    await s.close()


async def test_server_on_mongodb_serves_records_and_files_through_gridfs(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    async with running(tmp_path, database=f"mongomock://localhost/app_{uuid.uuid4().hex[:8]}") as srv, \
            aiohttp.ClientSession() as http:
        assert isinstance(srv.app.extensions.get(BlobStore), GridFSBlobStore)
        async with http.post(f"{srv.url}/notes", json={"text": "hi"}) as r:
            note = await r.json()
            assert r.status == 201 and len(note["_id"]) == 24 and note["createdAt"].endswith("Z")
        async with http.get(f"{srv.url}/notes/{note['_id']}") as r:
            assert await r.json() == note
        async with http.get(f"{srv.url}/notes/{'f' * 24}") as r:
            assert r.status == 404 and (await r.json())["name"] == "NotFound"
        status, reply = await post_form(http, f"{srv.url}/assets/upload", ("a.png", "a.png", png))
        assert status == 200
        async with http.get(f"{srv.url}/assets/{reply['a.png']}", headers={"Range": "bytes=8-15"}) as r:
            assert r.status == 206 and await r.read() == png[8:16]
    assert not list(tmp_path.rglob("*.png"))  # the file went to GridFS, not to the data dir
