"""MongoDB adapter (motor), and ``mongomock://`` for tests over mongomock-motor.

Records keep the same wire form as on SQLite: ``_id`` is stored as an ObjectId when it is a 24-hex
string and sent as that string; timestamps stay ISO-8601 strings, which compare as dates because
they all have one fixed format. Driver failures become Feathers errors (409, 404, 503).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

from bson import ObjectId
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, PyMongoError

from ..errors import Conflict, GeneralError, Unavailable
from ..query import And, Cmp, Cond, IdIn, Not, Or, Query
from . import Storage
from .base import AdapterOptions, StorageAdapter

_HEX24 = re.compile(r"[0-9a-f]{24}")


def _oid_or_str(value: Any) -> Any:
    return ObjectId(value) if isinstance(value, str) and _HEX24.fullmatch(value) else value


@asynccontextmanager
async def _driver_errors() -> AsyncIterator[None]:
    """Driver exceptions as Feathers errors, never a 500 with a stack."""
    try:
        yield
    except (DuplicateKeyError, BulkWriteError) as exc:
        raise Conflict("A record with that id already exists") from exc
    except ConnectionFailure as exc:
        raise Unavailable("The database is unavailable") from exc
    except PyMongoError as exc:
        raise GeneralError("Database error") from exc


class MongoStorage(Storage):
    """A MongoDB database (``mongodb://host/db``) or an in-process mock (``mongomock://x/db``)."""

    def __init__(self, url: str, *, timeout_ms: int = 5000) -> None:
        self.url = url
        db_name = urlparse(url).path.strip("/").split("?")[0] or "plume"
        if url.startswith("mongomock:"):
            from mongomock_motor import AsyncMongoMockClient

            self.client: Any = AsyncMongoMockClient()
        else:
            from motor.motor_asyncio import AsyncIOMotorClient

            self.client = AsyncIOMotorClient(url, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)
        self.db = self.client[db_name]

    def adapter(self, name: str, options: AdapterOptions) -> StorageAdapter:
        return MongoAdapter(name, self.db[name], options)

    async def close(self) -> None:
        self.client.close()


class MongoAdapter(StorageAdapter):
    """One service per collection."""

    def __init__(self, name: str, collection: Any, options: AdapterOptions | None = None) -> None:
        super().__init__(name, options)
        self.coll = collection
        self.native_id = self.id_field == "_id"

    async def setup(self, app: Any, path: str) -> None:
        async with _driver_errors():
            if not self.native_id:
                await self.coll.create_index(self.id_field, unique=True)
            for spec in self.options.indexes:
                from .sqlite import parse_index_spec  # the same index syntax for every adapter

                await self.coll.create_index([(".".join(p), d) for p, d in parse_index_spec(spec)])

    # ----------------------------------------------------------------- translation
    def _ids(self, keys: list[str] | tuple[str, ...]) -> dict[str, Any]:
        if self.native_id:
            return {"_id": {"$in": [_oid_or_str(k) for k in keys]}}
        values: list[Any] = list(keys)
        values += [int(k) for k in keys if k.lstrip("-").isdigit()]
        return {self.id_field: {"$in": values}}

    def filter(self, cond: Cond) -> dict[str, Any]:
        """The condition tree as a MongoDB filter (MongoDB brackets types as the tree wants)."""
        if isinstance(cond, And):
            return {"$and": [self.filter(c) for c in cond.items]} if cond.items else {}
        if isinstance(cond, Or):
            return {"$or": [self.filter(c) for c in cond.items]} if cond.items else {"_id": {"$in": []}}
        if isinstance(cond, Not):
            return {"$nor": [self.filter(cond.cond)]}
        if isinstance(cond, IdIn):
            return self._ids(cond.keys)
        assert isinstance(cond, Cmp)
        path = ".".join(cond.path)
        value = cond.value
        if cond.path == ("_id",) and self.native_id:
            value = [x for v in value for x in {_oid_or_str(v), v}] if isinstance(value, list) \
                else _oid_or_str(value)
        if cond.op == "$eq":
            return {path: value} if value is None else {path: {"$eq": value}}
        return {path: {cond.op: value}}

    def _out(self, doc: dict[str, Any]) -> dict[str, Any]:
        if self.native_id:
            if isinstance(doc.get("_id"), ObjectId):
                doc["_id"] = str(doc["_id"])
        else:
            doc.pop("_id", None)
        return doc

    def _in(self, record: dict[str, Any]) -> dict[str, Any]:
        doc = dict(record)
        if self.native_id:
            doc["_id"] = _oid_or_str(doc["_id"])
        return doc

    # ----------------------------------------------------------------- primitives
    async def _find(self, query: Query) -> list[dict[str, Any]]:
        sort = [(".".join(p), d) for p, d in query.sort] + [("_id", 1)]
        async with _driver_errors():
            cursor = self.coll.find(self.filter(query.where)).sort(sort).skip(query.skip)
            if query.limit is not None:
                if query.limit == 0:
                    return []
                cursor = cursor.limit(query.limit)
            return [self._out(doc) async for doc in cursor]

    async def _count(self, where: Cond) -> int:
        async with _driver_errors():
            return int(await self.coll.count_documents(self.filter(where)))

    async def _distinct(self, path: tuple[str, ...], where: Cond) -> list[Any]:
        async with _driver_errors():
            values = await self.coll.distinct(".".join(path), self.filter(where))
        return [str(v) if isinstance(v, ObjectId) else v for v in values if v is not None]

    async def _insert(self, records: list[dict[str, Any]]) -> None:
        docs = [self._in(r) for r in records]
        try:
            async with _driver_errors():
                await self.coll.insert_many(docs, ordered=True)
        except Conflict:
            # "Store none": undo the records of this call that went in before the duplicate.
            inserted = [d["_id"] for d in docs if "_id" in d]
            if inserted and self.native_id:
                await self.coll.delete_many({"_id": {"$in": inserted[: len(inserted) - 1]}})
            raise

    async def _replace(self, key: str, record: dict[str, Any]) -> bool:
        doc = self._in(record)
        # An exact match on the stored id (mongomock cannot replace through an $in filter).
        where = {"_id": doc["_id"]} if self.native_id else {self.id_field: record[self.id_field]}
        async with _driver_errors():
            res = await self.coll.replace_one(where, doc)
        return bool(res.matched_count)

    async def _patch(self, keys: list[str], data: dict[str, Any]) -> None:
        async with _driver_errors():
            if not any("." in k for k in data):
                await self.coll.update_many(self._ids(keys), {"$set": data})
                return
            # $set reads dots as paths; keys that contain dots are merged whole instead.
            async for doc in self.coll.find(self._ids(keys)):
                await self.coll.replace_one({"_id": doc["_id"]}, {**doc, **data})

    async def _delete(self, keys: list[str]) -> None:
        async with _driver_errors():
            await self.coll.delete_many(self._ids(keys))
