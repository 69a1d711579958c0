"""Dynamic batching: the requests that reach one endpoint together run as one ``session.run``.

Callers :meth:`Batcher.submit` their rows and await their own outputs. One collector task pairs
the pending rows with a free replica: it takes a replica, then the waiting requests (in order, as
long as their rows stack: same shapes past the batch dimension), and when it has fewer than
``max_batch`` rows it waits up to ``max_wait`` for more. The batch then runs on that replica's own
thread (onnxruntime releases the GIL, so replicas run in parallel and the event loop stays free),
and each caller gets its slice of the outputs. While every replica is busy, requests pile up and
the next batch takes them all: batches grow with the load, and an idle endpoint adds at most
``max_wait`` to a request's latency. :attr:`Batcher.stats` counts the runs and their rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from backend.errors import TooManyRequests, Unavailable

log = logging.getLogger(__name__)
Feeds = dict[str, np.ndarray]
#: Runs one batch on one replica (in that replica's thread): the outputs, batch dimension first.
Runner = Callable[[int, Feeds], Sequence[np.ndarray]]


@dataclass
class _Request:
    feeds: Feeds
    rows: int
    key: tuple[tuple[int, ...], ...]  # the row shapes: only requests with equal keys stack
    future: asyncio.Future[list[np.ndarray]] = field(repr=False)


@dataclass
class BatchStats:
    """What a batcher did: ``runs`` (``session.run`` calls), ``rows`` (the rows they ran) and
    ``largest`` (the rows of the largest). ``runs < requests`` is dynamic batching at work."""

    runs: int = 0
    rows: int = 0
    largest: int = 0

    def record(self, rows: int) -> None:
        self.runs += 1
        self.rows += rows
        self.largest = max(self.largest, rows)


class Batcher:
    """Batches the requests of one endpoint over ``replicas`` sessions (see the module docstring)."""

    def __init__(self, name: str, run: Runner, replicas: int, *, max_batch: int, max_wait: float,
                 max_queue: int, batchable: bool = True) -> None:
        self.name = name
        self._run = run
        self.max_batch = max_batch if batchable else 1
        self.max_wait = max_wait
        self.max_queue = max_queue
        self._pending: deque[_Request] = deque()
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._threads = [ThreadPoolExecutor(1, thread_name_prefix=f"serving-{name}-{i}") for i in range(replicas)]
        self._free: asyncio.Queue[int] = asyncio.Queue()
        for i in range(replicas):
            self._free.put_nowait(i)
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False
        self.stats = BatchStats()
        self._collector = asyncio.create_task(self._collect(), name=f"serving-batcher-{name}")

    async def submit(self, feeds: Feeds, rows: int) -> list[np.ndarray]:
        """Run ``rows`` rows (``feeds``' arrays all have them first) and return their outputs."""
        if self._closed:
            raise Unavailable(f"endpoint '{self.name}' is shutting down")
        if self._queued_rows + rows > self.max_queue and self._pending:
            raise TooManyRequests(f"endpoint '{self.name}' has {self._queued_rows} rows waiting; try again later")
        if rows > self.max_batch and self.max_batch > 1:
            # Larger than one batch: split, so that no session.run is larger than max_batch.
            parts = [{k: v[i:i + self.max_batch] for k, v in feeds.items()} for i in range(0, rows, self.max_batch)]
            outs = await asyncio.gather(*(self.submit(p, len(next(iter(p.values())))) for p in parts))
            return [np.concatenate([o[j] for o in outs]) for j in range(len(outs[0]))]
        if self.max_batch == 1 and rows > 1:
            outs = [await self.submit({k: v[i:i + 1] for k, v in feeds.items()}, 1) for i in range(rows)]
            return [np.concatenate([o[j] for o in outs]) for j in range(len(outs[0]))]
        future: asyncio.Future[list[np.ndarray]] = asyncio.get_running_loop().create_future()
        key = tuple(a.shape[1:] for a in feeds.values())
        self._pending.append(_Request(feeds, rows, key, future))
        self._queued_rows += rows
        self._arrived.set()
        return await future

    @property
    def waiting(self) -> int:
        """How many requests wait for a replica."""
        return len(self._pending)

    async def _run_on(self, replica: int, feeds: Feeds, rows: int) -> Sequence[np.ndarray]:
        """One run of ``rows`` rows on ``replica``'s thread, counted in :attr:`stats`."""
        self.stats.record(rows)
        return await asyncio.get_running_loop().run_in_executor(self._threads[replica], self._run, replica, feeds)

    async def _collect(self) -> None:
        while True:
            replica = await self._free.get()
            while not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
            batch = self._take([])
            if self.max_wait > 0 and sum(r.rows for r in batch) < self.max_batch:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self.max_wait
                while sum(r.rows for r in batch) < self.max_batch and (left := deadline - loop.time()) > 0:
                    self._arrived.clear()
                    if not self._pending:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(left):
                                await self._arrived.wait()
                    if not self._pending:
                        break
                    before = len(batch)
                    batch = self._take(batch)
                    if len(batch) == before:
                        break  # the next request does not stack with these: run what we have
            task = asyncio.create_task(self._execute(replica, batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _take(self, batch: list[_Request]) -> list[_Request]:
        """Move pending requests into ``batch`` while they stack with it and fit ``max_batch``."""
        rows = sum(r.rows for r in batch)
        while self._pending:
            head = self._pending[0]
            if batch and (head.key != batch[0].key or rows + head.rows > self.max_batch):
                break
            self._pending.popleft()
            self._queued_rows -= head.rows
            if head.future.done():  # its caller gave up (cancelled)
                continue
            batch.append(head)
            rows += head.rows
        return batch

    async def _execute(self, replica: int, batch: list[_Request]) -> None:
        try:
            if not batch:
                return
            feeds = batch[0].feeds if len(batch) == 1 else {
                name: np.concatenate([r.feeds[name] for r in batch]) for name in batch[0].feeds}
            try:
                outputs = await self._run_on(replica, feeds, sum(r.rows for r in batch))
            except Exception as exc:
                if len(batch) == 1:
                    if not batch[0].future.done():
                        batch[0].future.set_exception(exc)
                    return
                # One request's values (say, a token id past an embedding's end) may fail the whole
                # batch: run each alone, so that only its own caller gets the error.
                for r in batch:
                    await self._execute_alone(replica, r)
                return
            start = 0
            for r in batch:
                if not r.future.done():
                    r.future.set_result([o[start:start + r.rows] for o in outputs])
                start += r.rows
        finally:
            self._free.put_nowait(replica)

    async def _execute_alone(self, replica: int, request: _Request) -> None:
        if request.future.done():
            return
        try:
            outputs = await self._run_on(replica, request.feeds, request.rows)
        except Exception as exc:
            if not request.future.done():
                request.future.set_exception(exc)
            return
        if not request.future.done():
            request.future.set_result(list(outputs))

    async def close(self) -> None:
        """Stop taking requests, fail the waiting ones (503), finish the running batches, free the threads."""
        self._closed = True
        self._collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._collector
        while self._pending:
            r = self._pending.popleft()
            if not r.future.done():
                r.future.set_exception(Unavailable(f"endpoint '{self.name}' was shut down"))
        self._queued_rows = 0
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        for pool in self._threads:
            pool.shutdown(wait=False)
