"""Blobs as files under one root folder (the default: ``<data_dir>/files``).

Writes stream to a temporary file and are renamed into place, so a reader never sees half a file
and a failed upload leaves nothing. Temporary files live in ``<root>/.plume-tmp/<host>-<pid>/``:
a process killed in the middle of an upload leaves its folder behind, and the next process to
start sweeps it (:mod:`backend.instances`). Disk work runs on a worker thread. ETags are the SHA-256
of the content, as on GridFS (one hash serves as the ETag and as the digest uploads record; on
CPUs with SHA extensions it costs half what md5 does): :meth:`LocalBlobStore.put` computes it
while the file streams in and remembers it (bounded LRU, keyed by size and mtime so it is never
stale); a file this process has not written is hashed once, chunk by chunk on a worker thread, on
its first ``stat``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ...instances import instance_name, sweep
from . import BlobInfo, BlobStore, BlobTooLarge

CHUNK = 256 * 1024
RESERVED = ".plume-"  # temporary files; no key part may start with it
_TMP = RESERVED + "upload-"
TMP_DIR = RESERVED + "tmp"
HASH_CACHE = 4096  # remembered etags (path -> size, mtime_ns, sha256)


def check_key(key: str) -> list[str]:
    """The parts of a valid key (ValueError for empty, absolute, climbing or odd keys)."""
    parts = key.split("/") if isinstance(key, str) else []
    if (not parts or key.startswith("/") or "\\" in key or "\x00" in key
            or any(p in ("", ".", "..") or p.startswith(RESERVED) for p in parts)):
        raise ValueError(f"invalid blob key {key!r}")
    return parts


class LocalBlobStore(BlobStore):
    """Files under ``root``; keys are relative ``/``-separated names that may not leave it."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        sweep(self.root / TMP_DIR)  # uploads cut short by processes that died
        self.tmp = self.root / TMP_DIR / instance_name()
        self._hashes: OrderedDict[Path, tuple[int, int, str]] = OrderedDict()

    def _remember(self, path: Path, st: os.stat_result, sha256: str) -> None:
        self._hashes[path] = (st.st_size, st.st_mtime_ns, sha256)
        self._hashes.move_to_end(path)
        while len(self._hashes) > HASH_CACHE:
            self._hashes.popitem(last=False)

    def path(self, key: str) -> Path:
        """The file of ``key`` (ValueError for keys that are absolute or climb out of the root)."""
        path = self.root.joinpath(*check_key(key))
        if self.root not in path.parents:
            raise ValueError(f"invalid blob key {key!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_size: int | None = None) -> BlobInfo:
        target = self.path(key)
        await asyncio.to_thread(_mkdirs, target.parent, self.tmp)
        fd, tmp_name = await asyncio.to_thread(tempfile.mkstemp, dir=self.tmp, prefix=_TMP)
        tmp = Path(tmp_name)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise BlobTooLarge(f"{key} is larger than {max_size} bytes")
                    # Hashed on the writer thread (hashlib lets go of the GIL): not on the event loop.
                    await asyncio.to_thread(_hash_and_write, digest, out, chunk)
            await asyncio.to_thread(os.replace, tmp, target)
        except BaseException:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
            raise
        etag = digest.hexdigest()
        stat = await asyncio.to_thread(target.stat)
        self._remember(target, stat, etag)
        return BlobInfo(key=key, size=size, etag=etag, modified=stat.st_mtime)

    async def stat(self, key: str) -> BlobInfo | None:
        path = self.path(key)

        def run() -> tuple[os.stat_result, str | None] | None:
            if not path.is_file():
                return None
            st = path.stat()
            known = self._hashes.get(path)
            if known is not None and known[:2] == (st.st_size, st.st_mtime_ns):
                return st, known[2]
            return st, None

        found = await asyncio.to_thread(run)
        if found is None:
            return None
        st, sha256 = found
        if sha256 is None:
            sha256 = await asyncio.to_thread(_hash_file, path)
            self._remember(path, st, sha256)
        return BlobInfo(key=key, size=st.st_size, etag=sha256, modified=st.st_mtime)

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
        path = self.path(key)
        self._hashes.pop(path, None)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        folder = self.path(prefix.rstrip("/"))
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        base = self.path(prefix.rstrip("/")) if prefix else self.root

        def listing() -> list[Path]:
            return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []

        files = await asyncio.to_thread(listing)
        for p in files:
            key = p.relative_to(self.root)
            if not any(part.startswith(RESERVED) for part in key.parts):
                yield key.as_posix()



def _mkdirs(*folders: Path) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)


def _hash_and_write(digest: Any, out: Any, chunk: bytes) -> None:
    digest.update(chunk)
    out.write(chunk)


def _hash_file(path: Path) -> str:
    """The SHA-256 of a file, read chunk by chunk (never whole into memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
