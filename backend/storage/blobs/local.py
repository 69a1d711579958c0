"""Blobs as files under one root folder (the default: ``<data_dir>/files``).

Writes stream to a temporary file beside the target and are renamed into place, so a reader never
sees half a file and a failed upload leaves nothing. Disk work runs on a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from . import BlobInfo, BlobStore, BlobTooLarge

CHUNK = 256 * 1024


class LocalBlobStore(BlobStore):
    """Files under ``root``; keys are relative ``/``-separated names that may not leave it."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file of ``key`` (ValueError for keys that are absolute or climb out of the root)."""
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or "\x00" in key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        path = self.root.joinpath(*parts)
        if self.root not in path.parents:
            raise ValueError(f"invalid blob key {key!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_size: int | None = None) -> BlobInfo:
        target = self.path(key)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        fd, tmp_name = await asyncio.to_thread(tempfile.mkstemp, dir=target.parent, prefix=".upload-")
        tmp = Path(tmp_name)
        digest, size = hashlib.md5(usedforsecurity=False), 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise BlobTooLarge(f"{key} is larger than {max_size} bytes")
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(os.replace, tmp, target)
        except BaseException:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
            raise
        stat = await asyncio.to_thread(target.stat)
        return BlobInfo(key=key, size=size, etag=digest.hexdigest(), modified=stat.st_mtime)

    async def stat(self, key: str) -> BlobInfo | None:
        path = self.path(key)

        def run() -> BlobInfo | None:
            if not path.is_file():
                return None
            st = path.stat()
            # A cheap, stable validator for caching: size and modification time (no full read).
            return BlobInfo(key=key, size=st.st_size, etag=f"{st.st_size:x}-{st.st_mtime_ns:x}", modified=st.st_mtime)

        return await asyncio.to_thread(run)

    async def open(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        path = self.path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, offset)
            remaining = length
            while remaining is None or remaining > 0:
                size = CHUNK if remaining is None else min(CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        folder = self.path(prefix.rstrip("/"))
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        base = self.path(prefix.rstrip("/")) if prefix else self.root

        def listing() -> list[Path]:
            return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []

        files = await asyncio.to_thread(listing)
        for p in files:
            if not p.name.startswith(".upload-"):
                yield p.relative_to(self.root).as_posix()
