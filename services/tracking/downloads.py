"""Downloads in an artifact's ``history``: ``{event: "download", at, by, files}``.

An artifact is downloaded one file at a time (``GET /artifacts/<id>/<sha256>``), so the server
counts a download when it starts sending a file from its first byte (a ``HEAD``, a ``304 Not
Modified`` or a range resumed past the start is no new download). Files a caller fetches from one
artifact in a row, each within ``WINDOW`` seconds of the previous, make one event: its ``files``
grows and ``last`` moves on, so a loaded artifact is one entry, not one per object.

The history is the server's (the write hooks drop what clients send), so it is written here
straight to the store, without hooks or events (a download is no change of the artifact: its
``updatedAt`` stays). The write is conditional on ``updatedAt``, so that a concurrent upload's
entry is never overwritten, and serialized per artifact within the process.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from backend.app import ServiceHandle
from backend.hooklib.timestamps import now_iso
from backend.query import Cmp

log = logging.getLogger(__name__)
#: Seconds between two files of one download at most (longer: a new download).
WINDOW = 60.0
ATTEMPTS = 10  # conditional writes tried while uploads keep changing the artifact


def _seconds(stamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def with_download(history: list[Any], by: str, at: str) -> list[Any]:
    """``history`` with one more file downloaded by ``by`` at ``at`` (see the module docstring)."""
    last = history[-1] if history else None
    if isinstance(last, dict) and last.get("event") == "download" and last.get("by") == by:
        then, now = _seconds(last.get("last") or last.get("at")), _seconds(at)
        if then is not None and now is not None and 0 <= now - then <= WINDOW:
            files = last.get("files") if isinstance(last.get("files"), int) else 1
            return [*history[:-1], {**last, "files": files + 1, "last": at}]
    return [*history, {"event": "download", "at": at, "by": by, "files": 1, "last": at}]


class DownloadHistory:
    """Records downloads in the ``history`` of the artifacts of ``handle``."""

    def __init__(self, handle: ServiceHandle) -> None:
        self.handle = handle
        self._locks: dict[str, asyncio.Lock] = {}

    async def record(self, artifact_id: str, by: str) -> None:
        """Count one file of ``artifact_id`` downloaded by ``by`` (logged, never raised: the
        download itself goes on whatever happens to its history)."""
        lock = self._locks.setdefault(artifact_id, asyncio.Lock())
        try:
            async with lock:
                await self._write(artifact_id, by)
        except Exception:
            log.exception("could not record a download of artifact %s", artifact_id)
        finally:
            if not lock.locked() and self._locks.get(artifact_id) is lock:
                del self._locks[artifact_id]

    async def _write(self, artifact_id: str, by: str) -> None:
        store = self.handle.store
        key = store.key(artifact_id)
        for _ in range(ATTEMPTS):
            doc = await store._get_key(key)
            if doc is None:
                return  # removed meanwhile: nothing to record it in
            history = doc.get("history") if isinstance(doc.get("history"), list) else []
            new = with_download(history, by, now_iso())
            if await store._patch_where(key, Cmp(("updatedAt",), "$eq", doc.get("updatedAt")), {"history": new}):
                return
        log.warning("could not record a download of artifact %s: it keeps changing", artifact_id)
