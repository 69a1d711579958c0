"""MongoDB adapter (motor), and ``mongomock://`` for tests over mongomock-motor.

Records keep the same wire form as on SQLite: ``_id`` is stored as an ObjectId when it is a 24-hex
string and sent as that string; timestamps stay ISO-8601 strings, which compare as dates because
they all have one fixed format. Driver failures become Feathers errors (409, 404, 503, 400, 413),
never a 500 with a stack. The filter translation lives in :mod:`.mongo_query`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

import bson
from bson import ObjectId
from bson.errors import InvalidDocument
from pymongo import ReturnDocument
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DocumentTooLarge,
    DuplicateKeyError,
    ExecutionTimeout,
    PyMongoError,
    WTimeoutError,
)

from ..errors import BadRequest, Conflict, GeneralError, PayloadTooLarge, Unavailable
from ..query import ByteBudget, Cond, Query
from . import Storage
from .base import AdapterOptions, StorageAdapter
from .mongo_query import MongoFilter, oid_or_str
from .names import service_name, storage_name

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000
_mock_gridfs_enabled = False


def driver_error(exc: BaseException) -> Exception | None:
    """The Feathers error for a driver exception (None when it is not a driver error)."""
    if isinstance(exc, DuplicateKeyError):
        return Conflict("A record with that id already exists")
    if isinstance(exc, BulkWriteError):
        codes = {e.get("code") for e in exc.details.get("writeErrors", [])}
        if codes == {DUPLICATE_KEY}:
            return Conflict("A record with that id already exists")
    if isinstance(exc, (ConnectionFailure, ExecutionTimeout, WTimeoutError)):
        # ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout are ConnectionFailures.
        return Unavailable("The database is unavailable")
    if isinstance(exc, DocumentTooLarge):
        return PayloadTooLarge("The record is larger than the database allows")
    if isinstance(exc, InvalidDocument):
        return BadRequest("The record cannot be stored")
    if isinstance(exc, OverflowError):
        return BadRequest("Integers must fit in 64 bits")  # BSON has no bigger integer
    if isinstance(exc, PyMongoError):
        log.warning("database error: %s", exc)
        return GeneralError("Database error")
    return None


@asynccontextmanager
async def driver_errors() -> AsyncIterator[None]:
    """Driver exceptions as Feathers errors (the driver's message is logged, never sent)."""
    try:
        yield
    except (PyMongoError, InvalidDocument, OverflowError) as exc:
        mapped = driver_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


class MongoStorage(Storage):
    """A MongoDB database (``mongodb://host/db``) or an in-process mock (``mongomock://x/db``).

    ``timeout_ms`` bounds server selection (how long a call waits for an unreachable server
    before it is a 503); a ``serverSelectionTimeoutMS`` in the URL wins.
    """

    def __init__(self, url: str, *, timeout_ms: int = 5000) -> None:
        self.url = url
        parsed = urlparse(url)
        db_name = parsed.path.strip("/") or "plume"
        if url.startswith("mongomock:"):
            from mongomock_motor import AsyncMongoMockClient

            _enable_mock_gridfs()
            self.client: Any = AsyncMongoMockClient()
        else:
            from motor.motor_asyncio import AsyncIOMotorClient

            options: dict[str, Any] = {}
            if "serverselectiontimeoutms" not in {k.lower() for k in parse_qs(parsed.query)}:
                options["serverSelectionTimeoutMS"] = timeout_ms
            try:
                self.client = AsyncIOMotorClient(url, **options)
            except ConfigurationError as exc:  # InvalidURI and friends: a URL to fix, not a crash
                raise ValueError(f"invalid MongoDB URL: {exc}") from None
        self.db = self.client[db_name]

    def adapter(self, name: str, options: AdapterOptions) -> StorageAdapter:
        return MongoAdapter(name, self.db[storage_name(name)], options)

    async def open(self) -> None:
        """Rename collections made before storage names were encoded (``TrainingSet`` becomes
        ``~training~set``), so that their service finds its records again."""
        async with driver_errors():
            for coll in await self.db.list_collection_names():
                if "." in coll or service_name(coll) is not None:
                    continue  # GridFS/system collections, or already encoded
                try:
                    new = storage_name(coll)
                except ValueError:
                    continue  # not a service's collection
                await self.db[coll].rename(new)
                log.info("renamed collection %s to %s", coll, new)

    async def stored_services(self) -> list[str]:
        async with driver_errors():
            names = [service_name(c) for c in await self.db.list_collection_names() if "." not in c]
        return sorted(n for n in names if n is not None)

    async def close(self) -> None:
        self.client.close()


def _enable_mock_gridfs() -> None:
    """Let pymongo's GridFS (under motor's bucket) accept mongomock databases (process-wide).

    mongomock's patch only widens ``isinstance`` checks to also accept mongomock's classes, so
    real databases keep working; it is applied once and never undone.
    """
    global _mock_gridfs_enabled
    if not _mock_gridfs_enabled:
        from mongomock.gridfs import enable_gridfs_integration

        enable_gridfs_integration()
        _mock_gridfs_enabled = True


class MongoAdapter(StorageAdapter):
    """One service per collection."""

    def __init__(self, name: str, collection: Any, options: AdapterOptions | None = None) -> None:
        super().__init__(name, options)
        self.coll = collection
        self.native_id = self.id_field == "_id"
        self.filter = MongoFilter(self.id_field)

    async def setup(self, app: Any, path: str) -> None:
        """Create the unique index of a custom id field and the configured ``indexes``."""
        from .sqlite import parse_index_spec  # the same index syntax for every adapter

        async with driver_errors():
            if not self.native_id:
                await self.coll.create_index(self.id_field, unique=True)
            for spec in self.options.indexes:
                await self.coll.create_index([(".".join(p), d) for p, d in parse_index_spec(spec)])

    # ----------------------------------------------------------------- records in and out
    def _out(self, doc: dict[str, Any]) -> dict[str, Any]:
        if self.native_id:
            if isinstance(doc.get("_id"), ObjectId):
                doc["_id"] = str(doc["_id"])
        else:
            doc.pop("_id", None)  # Mongo's own id stays hidden behind the custom id field
        return doc

    def _in(self, record: dict[str, Any]) -> dict[str, Any]:
        doc = dict(record)
        if self.native_id:
            doc["_id"] = oid_or_str(doc["_id"])
        return doc

    def _where(self, key: str) -> dict[str, Any]:
        # An exact match on the stored id (mongomock cannot replace through an $in filter).
        if self.native_id:
            return {"_id": oid_or_str(key)}
        return self.filter.ids([key])

    # ----------------------------------------------------------------- primitives
    async def _find(self, query: Query) -> list[dict[str, Any]]:
        if query.limit == 0:
            return []
        sort = [(".".join(p), d) for p, d in query.sort]
        if not any(field == "_id" for field, _ in sort):
            sort.append(("_id", 1))  # a stable order for pages (ObjectIds are time-ordered)
        async with driver_errors():
            cursor = self.coll.find(self.filter(query.where)).sort(sort).skip(query.skip)
            if query.limit is not None:
                cursor = cursor.limit(query.limit)
            budget = query.budget
            if budget is None:
                return [self._out(doc) async for doc in cursor]
            rows = []
            async for doc in cursor:
                if not budget.admit(len(bson.encode(doc))):
                    break
                rows.append(self._out(doc))
            await cursor.close()
            return rows

    async def _find_page(self, query: Query, count: bool) -> tuple[list[dict[str, Any]], int]:
        if not count:
            return await self._find(query), -1
        # The page and its total as two concurrent round trips instead of one after the other.
        rows, total = await asyncio.gather(self._find(query), self._count(query.where))
        return rows, total

    async def _count(self, where: Cond) -> int:
        async with driver_errors():
            return int(await self.coll.count_documents(self.filter(where)))

    async def _distinct(self, path: tuple[str, ...], where: Cond, budget: ByteBudget | None = None) -> list[Any]:
        field = ".".join(path)
        if field == "_id" and not self.native_id:
            return []  # Mongo's own id is hidden on custom-id services
        async with driver_errors():
            # One reply (MongoDB caps it at 16 MB): the budget bounds what is answered.
            values = await self.coll.distinct(field, self.filter(where))
        out = [str(v) if isinstance(v, ObjectId) else v for v in values if v is not None]
        if budget is not None:
            admit = budget.admit
            out = list(itertools.takewhile(lambda v: admit(len(bson.encode({"v": v}))), out))
        return out

    async def _insert(self, records: list[dict[str, Any]]) -> None:
        docs = [self._in(r) for r in records]
        try:
            async with driver_errors():
                await self.coll.insert_many(docs, ordered=True)
        except Conflict as exc:
            # "Store none": an ordered insert stops at the duplicate; undo the ones before it.
            cause = exc.__cause__
            done = cause.details.get("nInserted", 0) if isinstance(cause, BulkWriteError) else 0
            if done:
                async with driver_errors():
                    await self.coll.delete_many({"_id": {"$in": [d["_id"] for d in docs[:done]]}})
            raise

    async def _replace(self, key: str, record: dict[str, Any]) -> bool:
        doc = self._in(record)
        async with driver_errors():
            res = await self.coll.replace_one(self._where(key), doc)
        return bool(res.matched_count)

    async def _patch_where(self, key: str, where: Cond, data: dict[str, Any]) -> dict[str, Any] | None:
        """The id + query test and the write in one ``find_one_and_update`` (atomic on the server)."""
        if not data or any("." in k for k in data):  # $set reads dots as paths: the generic way
            return await super()._patch_where(key, where, data)
        conditions = [self._where(key), self.filter(where)]
        async with driver_errors():
            doc = await self.coll.find_one_and_update({"$and": [c for c in conditions if c]}, {"$set": data},
                                                      return_document=ReturnDocument.AFTER)
        return None if doc is None else self._out(doc)

    async def _patch(self, keys: list[str], data: dict[str, Any]) -> None:
        async with driver_errors():
            if not any("." in k for k in data):
                await self.coll.update_many(self.filter.ids(keys), {"$set": data})
                return
            # $set reads dots as paths; keys that contain dots are merged whole instead.
            async for doc in self.coll.find(self.filter.ids(keys)):
                await self.coll.replace_one({"_id": doc["_id"]}, {**doc, **data})

    async def _delete(self, keys: list[str]) -> None:
        async with driver_errors():
            await self.coll.delete_many(self.filter.ids(keys))
