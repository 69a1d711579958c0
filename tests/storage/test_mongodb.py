"""MongoDB specifics: ObjectId storage, indexes, custom ids, and driver errors as Feathers errors.

Runs over mongomock-motor; ``PLUME_TEST_MONGODB_URL`` adds a real server to the conformance suite.
"""

from __future__ import annotations

import pytest
from bson import ObjectId

from backend.errors import Conflict, NotFound, Unavailable
from backend.hooks import Params
from backend.storage.base import AdapterOptions
from backend.storage.mongodb import MongoStorage


@pytest.fixture
async def storage():  # type: ignore[no-untyped-def]
    s = MongoStorage("mongomock://localhost/plume_unit")
    yield s
    await s.close()


async def test_ids_are_object_ids_inside_and_strings_outside(storage) -> None:  # type: ignore[no-untyped-def]
    a = storage.adapter("things", AdapterOptions())
    rec = await a.create({"n": 1}, Params())
    raw = await storage.db["things"].find_one({})
    assert isinstance(raw["_id"], ObjectId) and str(raw["_id"]) == rec["_id"]
    assert (await a.get(rec["_id"], Params()))["n"] == 1
    assert (await a.find(Params(query={"_id": {"$in": [rec["_id"]]}})))["total"] == 1
    with pytest.raises(NotFound):
        await a.get("not-an-object-id", Params())
    with pytest.raises(Conflict):
        await a.create({"_id": rec["_id"]}, Params())


async def test_custom_id_field_and_indexes(storage) -> None:  # type: ignore[no-untyped-def]
    a = storage.adapter("runs", AdapterOptions(id="id", indexes=["name", ["createdAt", -1]]))
    await a.setup(None, "runs")
    await a.create({"id": "run-1", "name": "x"}, Params())
    with pytest.raises(Conflict):
        await a.create({"id": "run-1"}, Params())
    info = await storage.db["runs"].index_information()
    keys = sorted(tuple(v["key"]) for v in info.values())
    assert (("createdAt", -1),) in keys and (("name", 1),) in keys and (("id", 1),) in keys
    assert "_id" not in await a.get("run-1", Params())


async def test_unreachable_server_is_503() -> None:
    s = MongoStorage("mongodb://127.0.0.1:9/plume", timeout_ms=300)
    a = s.adapter("things", AdapterOptions())
    with pytest.raises(Unavailable):
        await a.find(Params())
    await s.close()
