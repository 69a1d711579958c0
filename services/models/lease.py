"""Leases on ``keras-models`` documents: one process converts a document at a time, even with replicas.

A process claims a document before converting it by a conditional patch (``conversionLease`` empty,
its own, or expired), which the storage adapters run as one test-and-write, so of several replicas
resuming the same pending document exactly one wins. The holder renews the lease while it works
and clears it when it is done or shuts down; a lease left by a crashed process expires, and the
periodic rescan of :class:`~services.models.conversion.ConversionManager` takes the job over.
The lease is written through the adapter (no hooks, no events): it is server bookkeeping.

A holder can lose its lease without crashing: its database was out of reach for longer than the
lease, or another replica's clock runs ahead, and that replica took the job over. The holder's
heartbeat notices (a renewal finds another owner, or no renewal succeeded before the lease's end)
and cancels the work done under :meth:`Leases.held`. Noticing takes up to a renewal period, so the
holder's writes that matter are conditional on the lease as well (:meth:`Leases.mine` in their
query): one that comes too late matches nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from backend.errors import NotFound
from backend.hooklib.timestamps import iso_at
from backend.hooks import Params

log = logging.getLogger(__name__)
LEASE_FIELD = "conversionLease"


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

    def mine(self) -> dict[str, Any]:
        """A query matching the document only while this owner holds its lease (for conditional writes)."""
        return {f"{LEASE_FIELD}.owner": self.owner}

    async def claim(self, doc_id: str) -> bool:
        """Take the lease if nobody holds it (or the holder's has expired); True when it is ours."""
        now = time.time()
        free = {"$or": [{LEASE_FIELD: None}, self.mine(), {f"{LEASE_FIELD}.until": {"$lt": iso_at(now)}}]}
        return await self._set(doc_id, {"owner": self.owner, "until": iso_at(now + self.seconds)}, free)

    async def renew(self, doc_id: str) -> bool:
        """Extend our lease; False if we lost it (it expired and another process took it)."""
        return await self._set(doc_id, {"owner": self.owner, "until": iso_at(time.time() + self.seconds)},
                               self.mine())

    async def release(self, doc_id: str) -> None:
        """Clear our lease (not another process's)."""
        await self._set(doc_id, None, self.mine())

    @contextlib.asynccontextmanager
    async def held(self, doc_id: str) -> AsyncIterator[bool]:
        """Claim ``doc_id`` for the block (yields False when another process holds it), renewing it
        meanwhile; released at the end, also when the block is cancelled by a shutdown.

        When the lease is lost, the block is cancelled and the ``async with`` ends quietly: the
        caller's task goes on (a cancellation from anyone else still propagates).
        """
        deadline = time.time() + self.seconds  # before the claim: never later than the lease it writes
        if not await self.claim(doc_id):
            yield False
            return
        holder = asyncio.current_task()
        assert holder is not None, "held() runs in a task"
        state = {"inside": True, "lost": False}

        def lost() -> None:
            # Only while the block runs: a cancel delivered after it would hit whatever comes next.
            if state["inside"]:
                state["lost"] = True
                holder.cancel()

        heartbeat = asyncio.create_task(self._heartbeat(doc_id, deadline, lost), name=f"lease-{doc_id}")
        try:
            yield True
        except asyncio.CancelledError:
            state["inside"] = False
            # Ours (and nobody else's) when uncancel() leaves no request: end the block, not the task.
            if not state["lost"] or holder.uncancel() > 0:
                raise
        finally:
            if state["inside"] and state["lost"]:
                holder.uncancel()  # the block swallowed our cancel: it must not count against the task
            state["inside"] = False
            heartbeat.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(self.release(doc_id))

    async def _heartbeat(self, doc_id: str, until: float, lost: Callable[[], None]) -> None:
        """Renew the lease (ours until ``until``) every third of its length; call ``lost()`` once it
        is another process's, or once ``until`` passed without a renewal: from then on any replica
        may claim it."""
        while True:
            await asyncio.sleep(max(0.0, min(self.seconds / 3, until - time.time())))
            attempt = time.time()
            if attempt >= until:
                log.warning("could not renew the conversion lease of keras model %s before it expired; "
                            "leaving the job to another process", doc_id)
                lost()
                return
            try:
                async with asyncio.timeout(until - attempt):  # a hung database must not outlive the lease
                    renewed = await self.renew(doc_id)
            except Exception:
                log.exception("could not renew the conversion lease of keras model %s", doc_id)
                continue
            if not renewed:
                log.warning("lost the conversion lease of keras model %s (taken over by another process, "
                            "or the model was removed)", doc_id)
                lost()
                return
            until = attempt + self.seconds  # renew() wrote a later end than this
