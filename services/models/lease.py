"""Leases on ``keras-models`` documents: one process converts a document at a time, even with replicas.

A process claims a document before converting it by a conditional patch (``conversionLease`` empty,
its own, or expired), which the storage adapters run as one test-and-write, so of several replicas
resuming the same pending document exactly one wins. The holder renews the lease while it works
and clears it when it is done or shuts down; a lease left by a crashed process expires, and the
periodic rescan of :class:`~services.models.conversion.ConversionManager` takes the job over.
The lease is written through the adapter (no hooks, no events): it is server bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from backend.errors import NotFound
from backend.hooks import Params

log = logging.getLogger(__name__)
LEASE_FIELD = "conversionLease"


def iso(t: float) -> str:
    """``t`` (POSIX seconds) in the ISO-8601 UTC form of Plume's timestamps (sorts as text)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


class Leases:
    """Claims, renews and releases ``conversionLease`` for one owner (one manager of one process)."""

    def __init__(self, adapter: Callable[[], Any], owner: str, seconds: float) -> None:
        self._adapter = adapter  # the keras-models storage adapter (looked up when used)
        self.owner = owner
        self.seconds = seconds

    async def _set(self, doc_id: str, value: dict[str, Any] | None, query: dict[str, Any]) -> bool:
        try:
            await self._adapter().patch(doc_id, {LEASE_FIELD: value}, Params(query=query))
        except NotFound:
            return False  # held by another process, or the document is gone
        return True

    def _mine(self) -> dict[str, Any]:
        return {f"{LEASE_FIELD}.owner": self.owner}

    async def claim(self, doc_id: str) -> bool:
        """Take the lease if nobody holds it (or the holder's has expired); True when it is ours."""
        now = time.time()
        free = {"$or": [{LEASE_FIELD: None}, self._mine(), {f"{LEASE_FIELD}.until": {"$lt": iso(now)}}]}
        return await self._set(doc_id, {"owner": self.owner, "until": iso(now + self.seconds)}, free)

    async def renew(self, doc_id: str) -> bool:
        """Extend our lease; False if we lost it (it expired and another process took it)."""
        return await self._set(doc_id, {"owner": self.owner, "until": iso(time.time() + self.seconds)},
                               self._mine())

    async def release(self, doc_id: str) -> None:
        """Clear our lease (not another process's)."""
        await self._set(doc_id, None, self._mine())

    @contextlib.asynccontextmanager
    async def held(self, doc_id: str) -> AsyncIterator[bool]:
        """Claim ``doc_id`` for the block (yields False when another process holds it), renewing it
        meanwhile; released at the end, also when the block is cancelled by a shutdown."""
        if not await self.claim(doc_id):
            yield False
            return
        heartbeat = asyncio.create_task(self._renew_forever(doc_id), name=f"lease-{doc_id}")
        try:
            yield True
        finally:
            heartbeat.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release(doc_id))

    async def _renew_forever(self, doc_id: str) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                if not await self.renew(doc_id):
                    log.warning("lost the conversion lease of keras model %s", doc_id)
                    return
            except Exception:
                log.exception("could not renew the conversion lease of keras model %s", doc_id)
