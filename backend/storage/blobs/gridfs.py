"""Blobs in MongoDB's GridFS (the default on MongoDB): every replica sees the same files.

The file name is the blob key; a new ``put`` uploads a new revision and then deletes the older
ones, so readers always see a whole file. Reads stream chunk by chunk from an offset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from . import BlobInfo, BlobStore, BlobTooLarge

CHUNK = 255 * 1024


class GridFSBlobStore(BlobStore):
    """GridFS bucket ``plume_files`` in the storage's database (motor)."""

    def __init__(self, storage: Any, bucket: str = "plume_files") -> None:
        from motor.motor_asyncio import AsyncIOMotorGridFSBucket

        self.db = storage.db
        self.bucket = AsyncIOMotorGridFSBucket(self.db, bucket_name=bucket)
        self.files = self.db[f"{bucket}.files"]

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_size: int | None = None) -> BlobInfo:
        size = 0
        stream = self.bucket.open_upload_stream(key, chunk_size_bytes=CHUNK)
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise BlobTooLarge(f"{key} is larger than {max_size} bytes")
                await stream.write(chunk)
            await stream.close()
        except BaseException:
            await stream.abort()
            raise
        async for old in self.files.find({"filename": key, "_id": {"$ne": stream._id}}, {"_id": 1}):
            await self.bucket.delete(old["_id"])
        info = await self.stat(key)
        assert info is not None and info.size == size
        return info

    async def _latest(self, key: str) -> dict[str, Any] | None:
        return await self.files.find_one({"filename": key}, sort=[("uploadDate", -1)])

    async def stat(self, key: str) -> BlobInfo | None:
        doc = await self._latest(key)
        if doc is None:
            return None
        # The revision's ObjectId is a stable validator: a new upload makes a new one.
        return BlobInfo(key=key, size=int(doc["length"]), etag=str(doc["_id"]),
                        modified=doc["uploadDate"].timestamp())

    async def open(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        doc = await self._latest(key)
        if doc is None:
            return
        stream = await self.bucket.open_download_stream(doc["_id"])
        if offset:
            stream.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            chunk = await stream.readchunk()
            if not chunk:
                break
            if remaining is not None:
                chunk = chunk[:remaining]
                remaining -= len(chunk)
            yield chunk

    async def delete(self, key: str) -> None:
        async for doc in self.files.find({"filename": key}, {"_id": 1}):
            await self.bucket.delete(doc["_id"])

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        seen: set[str] = set()
        query = {"filename": {"$regex": "^" + _escape(prefix)}} if prefix else {}
        async for doc in self.files.find(query, {"filename": 1}).sort("filename", 1):
            if doc["filename"] not in seen:
                seen.add(doc["filename"])
                yield doc["filename"]


def _escape(text: str) -> str:
    import re

    return re.escape(text)
