"""Blobs in MongoDB's GridFS (the default on MongoDB): every replica sees the same files.

The file name is the blob key; a new ``put`` uploads a new revision and then deletes the older
ones, so readers always see a whole file. Writes and reads stream chunk by chunk (GridFS chunks
of 255 KiB); the SHA-256 of the content is computed while it streams in and kept on the file
document (``plume_sha256``), so both blob stores give the same ETag for the same bytes (files an
earlier version stored keep their ``plume_md5``). Keys follow the local
store's rules (:func:`.local.check_key`), so a key valid on one backend is valid on the other.

Over ``mongomock://`` this runs on mongomock's GridFS integration (enabled by the storage).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

from . import BlobInfo, BlobStore, BlobTooLarge
from .local import check_key

CHUNK = 255 * 1024
HASH_FIELD = "plume_sha256"
OLD_HASH_FIELD = "plume_md5"  # written by earlier versions


class GridFSBlobStore(BlobStore):
    """GridFS bucket ``plume_files`` in the storage's database (motor)."""

    def __init__(self, storage: Any, bucket: str = "plume_files") -> None:
        from motor.motor_asyncio import AsyncIOMotorGridFSBucket

        self.db = storage.db
        self.bucket = AsyncIOMotorGridFSBucket(self.db, bucket_name=bucket)
        self.files = self.db[f"{bucket}.files"]

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_size: int | None = None) -> BlobInfo:
        check_key(key)
        size, digest = 0, hashlib.sha256()
        stream = self.bucket.open_upload_stream(key, chunk_size_bytes=CHUNK)
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise BlobTooLarge(f"{key} is larger than {max_size} bytes")
                digest.update(chunk)
                await stream.write(chunk)
            await stream.set(HASH_FIELD, digest.hexdigest())  # stored with the file document on close
            await stream.close()
        except BaseException:
            await stream.abort()  # removes the chunks written so far: nothing is kept
            raise
        async for old in self.files.find({"filename": key, "_id": {"$ne": stream._id}}, {"_id": 1}):
            await self.bucket.delete(old["_id"])
        info = await self.stat(key)
        assert info is not None
        return info

    async def _latest(self, key: str) -> dict[str, Any] | None:
        check_key(key)
        return await self.files.find_one({"filename": key}, sort=[("uploadDate", -1), ("_id", -1)])

    async def stat(self, key: str) -> BlobInfo | None:
        doc = await self._latest(key)
        if doc is None:
            return None
        # Files stored by other tools have no hash: their revision's ObjectId is a stable validator.
        etag = doc.get(HASH_FIELD) or doc.get(OLD_HASH_FIELD) or str(doc["_id"])
        return BlobInfo(key=key, size=int(doc["length"]), etag=etag, modified=doc["uploadDate"].timestamp())

    async def open(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        doc = await self._latest(key)
        if doc is None:
            raise FileNotFoundError(key)  # as the local store does
        stream = await self.bucket.open_download_stream(doc["_id"])
        try:
            if offset:
                stream.seek(offset)  # GridOut seeks by chunk number: no earlier chunk is read
            remaining = length
            while remaining is None or remaining > 0:
                chunk = await stream.readchunk()
                if not chunk:
                    break
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(stream.close)  # may tell the server to drop the chunk cursor

    async def delete(self, key: str) -> None:
        check_key(key)
        async for doc in self.files.find({"filename": key}, {"_id": 1}):
            await self.bucket.delete(doc["_id"])

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        """Keys in the folder ``prefix`` (``a`` lists ``a/x`` but not ``ab/x``), sorted."""
        query: dict[str, Any] = {}
        if prefix:
            folder = prefix.rstrip("/")
            check_key(folder)
            query = {"filename": {"$regex": "^" + re.escape(folder + "/")}}
        last = None
        async for doc in self.files.find(query, {"filename": 1}).sort("filename", 1):
            if doc["filename"] != last:
                last = doc["filename"]
                yield last
