"""Cluster Serving's Redis protocol (with ``--redis``): endpoints read their stream, so that the
real ``zoo.serving.client`` (``InputQueue`` / ``OutputQueue``) works against Plume unchanged.

Each ready endpoint reads the stream named by its ``stream`` field (default: its name) in the
consumer group ``serving``, one consumer per process: ``XREADGROUP`` takes up to ``max_batch``
entries at a time, they run through the endpoint's batcher, and each answer is written with
``HSETNX`` to ``cluster-serving_<stream>:<uri>`` (see :mod:`.arrow_codec`), then the entry is
acknowledged and deleted (``XACK``, ``XDEL``) in one transaction. Several processes, on several
machines, share a stream through the group. An entry that a process read but never acknowledged
(it died) is taken over by another with ``XAUTOCLAIM`` once it has been idle ``claim_idle``
seconds; ``HSETNX`` keeps an answer that the dead process wrote before dying, so no uri is
answered twice (a live process slower than ``claim_idle`` on one entry could still see it
answered by another: keep ``claim_idle`` well above a prediction's time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import numpy as np

from backend.errors import FeathersError
from backend.instances import instance_name
from backend.storage.base import new_id

from .arrow_codec import FAILED, decode_entry, encode_result, result_key
from .decode import feeds_of
from .deployments import Deployments
from .runtime import Deployment
from .settings import ServingSettings

log = logging.getLogger(__name__)
GROUP = "serving"
RETRY = 1.0  # seconds before reading again after Redis failed


class Streams:
    """The stream readers of this process, one per ready endpoint."""

    def __init__(self, url: str, deployments: Deployments, settings: ServingSettings) -> None:
        import redis.asyncio as aioredis

        self.redis = aioredis.from_url(url)
        self.deployments = deployments
        self.settings = settings
        self.consumer = f"plume-{instance_name()}-{new_id()[-8:]}"
        self._readers: dict[str, tuple[str, asyncio.Task[None]]] = {}
        self.answered = 0  # answers this process wrote (tests and benchmarks)

    async def on_change(self, name: str, deployment: Deployment | None, doc: dict[str, Any] | None) -> None:
        """Start, restart or stop the reader of ``name`` (a :class:`Deployments` listener)."""
        stream = str((doc or {}).get("stream") or name)
        current = self._readers.get(name)
        if current is not None and (deployment is None or current[0] != stream):
            current[1].cancel()
            del self._readers[name]
            current = None
        if deployment is not None and current is None:
            task = asyncio.create_task(self._read(name, stream), name=f"serving-stream-{name}")
            self._readers[name] = (stream, task)

    async def _ensure_group(self, stream: str) -> None:
        import redis

        try:
            await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        # Visible in XINFO CONSUMERS from now on (XREADGROUP makes it only once it gets an entry).
        await self.redis.xgroup_createconsumer(stream, GROUP, self.consumer)

    async def _read(self, name: str, stream: str) -> None:
        """Read and answer ``stream`` for endpoint ``name`` until cancelled."""
        last_claim = 0.0
        while True:
            try:
                await self._ensure_group(stream)
                while True:
                    entries: list[tuple[Any, dict[Any, Any]]] = []
                    now = time.monotonic()
                    if now - last_claim >= self.settings.claim_idle / 2:
                        last_claim = now
                        entries = await self._claim(stream)
                    if not entries:
                        reply = await self.redis.xreadgroup(GROUP, self.consumer, {stream: ">"},
                                                            count=self.settings.max_batch,
                                                            block=self.settings.block_ms)
                        entries = [e for _, items in reply or [] for e in items]
                    if entries:
                        await asyncio.gather(*(self._answer(name, stream, eid, fields) for eid, fields in entries))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away, a NOGROUP after a FLUSHALL...: keep trying
                log.warning("reading stream %s for endpoint %s failed: %s; retrying", stream, name, exc)
                await asyncio.sleep(RETRY)

    async def _claim(self, stream: str) -> list[tuple[Any, dict[Any, Any]]]:
        """Entries another consumer read but left unacknowledged for ``claim_idle`` seconds."""
        reply = await self.redis.xautoclaim(stream, GROUP, self.consumer, int(self.settings.claim_idle * 1000),
                                            start_id="0-0", count=self.settings.max_batch)
        entries = [(eid, fields) for eid, fields in reply[1] if fields]
        for eid, fields in reply[1]:
            if not fields:  # deleted meanwhile: nothing to answer, only to acknowledge
                await self.redis.xack(stream, GROUP, eid)
        if entries:
            log.info("stream %s: took over %d entr%s left by a stopped consumer", stream, len(entries),
                     "y" if len(entries) == 1 else "ies")
        return entries

    async def _answer(self, name: str, stream: str, entry_id: Any, fields: dict[Any, Any]) -> None:
        uri = _text(fields.get(b"uri", fields.get("uri")))
        try:
            deployment = await self.deployments.get(name)
            data = fields.get(b"data", fields.get("data"))
            if data is None or not uri:
                raise ValueError("the entry has no uri or no data")
            feeds, rows = feeds_of([decode_entry(data, deployment.inputs)], deployment.inputs,
                                   deployment.image_scale)
            outputs = await deployment.run(feeds, rows)
            if deployment.top_n:  # [[class index, probability], ...], most probable first
                scores = outputs[0].reshape(len(outputs[0]), -1)[0]
                best = np.argsort(-scores, kind="stable")[: deployment.top_n]
                value = encode_result([np.stack([best.astype(np.float32), scores[best].astype(np.float32)], axis=1)])
            else:
                value = encode_result([out[0] for out in outputs])
        except (FeathersError, ValueError, KeyError) as exc:
            log.info("stream %s: uri %s failed: %s", stream, uri, exc)
            value = FAILED
        if uri:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hsetnx(result_key(stream, uri), "value", value)
                pipe.xack(stream, GROUP, entry_id)
                pipe.xdel(stream, entry_id)
                await pipe.execute()
            self.answered += 1
        else:
            await self.redis.xack(stream, GROUP, entry_id)

    async def close(self) -> None:
        for _, task in self._readers.values():
            task.cancel()
        await asyncio.gather(*(t for _, t in self._readers.values()), return_exceptions=True)
        self._readers.clear()
        with contextlib.suppress(Exception):
            await self.redis.aclose()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
