"""``ConversionPool``: the asyncio front-end the server uses to run conversions in worker processes.

The workers are :mod:`python_client.conversion` children (``WorkerProcess``: the one conversion
protocol, shared with the Python client's training-side child); this module adds what a server
needs: a bounded queue, several long-lived workers, recycling after N jobs, a time limit per job,
and a replacement as soon as a worker is retired, killed or crashes. TensorFlow is only ever
imported by the workers; this module stays light. Waiting on a worker happens in a thread, so the
event loop only ever awaits futures.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from python_client.conversion.errors import ConversionError
from python_client.conversion.jobs import ConversionJob, ConversionResult
from python_client.conversion.process import DEFAULT_HANDLER, DEFAULT_WARMUP, WorkerProcess

logger = logging.getLogger(__name__)


class PoolClosedError(RuntimeError):
    """The conversion pool was closed; no more jobs are accepted."""


class PoolBusyError(RuntimeError):
    """The conversion pool's bounded queue is full; the caller should retry later (HTTP 503-like)."""


@dataclass
class _Slot:
    """One worker position: the current (or starting) worker process and its dispatcher task."""

    index: int
    starting: asyncio.Task[WorkerProcess] | None = None
    dispatcher: asyncio.Task[None] | None = None
    processes: set[WorkerProcess] = field(default_factory=set)


class ConversionPool:
    """Run :class:`ConversionJob` s in long-lived worker processes (``python -m`` children started
    with ``Popen``, see :mod:`python_client.conversion.process`; not multiprocessing's spawn).

    Args:
        workers: Number of worker processes (each costs ~500 MB once TensorFlow is imported).
        max_jobs_per_worker: Recycle a worker after this many jobs, bounding leaks in TensorFlow.
        job_timeout: Seconds a job may run; past it the worker is killed and replaced and the job
            fails with ``error_kind == "timeout"``. Read as each job starts: changing the
            attribute applies to the jobs that start after.
        max_queued: Jobs that may wait for a worker; beyond it :meth:`convert` raises
            :class:`PoolBusyError` instead of queueing without bound.
        startup_timeout: Seconds a new worker may take to import TensorFlow and report ready.
        handler: Dotted ``"module:function"`` the worker runs per job (tests inject faults here).
        warmup: Dotted ``"module:function"`` the worker runs once at start, or ``None``.

    Workers start lazily on the first job, or eagerly with :meth:`start`. A replacement worker is
    started as soon as one is retired, killed or crashes, so the next job usually finds it warm.

    Notes:
        * Cancelling a :meth:`convert` call does not stop its job: the worker finishes it and the
          files still land in ``output_dir`` (the caller owns that folder and may delete it).
        * Create, use and close the pool in one event loop.
    """

    def __init__(
        self,
        workers: int = 1,
        max_jobs_per_worker: int = 50,
        job_timeout: float = 120.0,
        max_queued: int = 32,
        startup_timeout: float = 120.0,
        handler: str = DEFAULT_HANDLER,
        warmup: str | None = DEFAULT_WARMUP,
    ) -> None:
        if workers < 1 or max_jobs_per_worker < 1 or max_queued < 1:
            raise ValueError("workers, max_jobs_per_worker and max_queued must be at least 1")
        if job_timeout <= 0 or startup_timeout <= 0:
            raise ValueError("job_timeout and startup_timeout must be positive")
        self.workers = workers
        self.max_jobs_per_worker = max_jobs_per_worker
        self.job_timeout = job_timeout
        self.max_queued = max_queued
        self.startup_timeout = startup_timeout
        self._handler = handler
        self._warmup = warmup
        self._slots = [_Slot(index) for index in range(workers)]
        # Threads only wait on pipes and processes (no Python work), so they do not hold the GIL
        # for long. Per slot: one running/awaiting a job, one starting a replacement, one stopping.
        self._executor = ThreadPoolExecutor(max_workers=3 * workers, thread_name_prefix="plume-conversion")
        self._queue: asyncio.Queue[tuple[ConversionJob, asyncio.Future[ConversionResult]]] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._inflight: set[asyncio.Future[ConversionResult]] = set()  # callers' futures being run
        self._closed = False

    # ----------------------------------------------------------------- public API
    async def start(self) -> None:
        """Start every worker now and wait until all are warm (optional; jobs start them lazily).

        Raises:
            ConversionError: a worker could not start.
        """
        self._ensure_running()
        for slot in self._slots:
            await self._worker(slot)

    async def convert(self, job: ConversionJob) -> ConversionResult:
        """Run ``job`` in a worker and return its result; never blocks the event loop.

        A failed conversion (bad file, converter error, timeout, worker crash) is *returned* as a
        result with ``ok == False`` and a human-readable ``error``; exceptions are only for the pool
        itself.

        Raises:
            PoolClosedError: the pool is closed.
            PoolBusyError: ``max_queued`` jobs are already waiting.
        """
        if self._closed:
            raise PoolClosedError("the conversion pool is closed")
        queue = self._ensure_running()
        future: asyncio.Future[ConversionResult] = asyncio.get_running_loop().create_future()
        try:
            queue.put_nowait((job, future))
        except asyncio.QueueFull:
            raise PoolBusyError(f"{self.max_queued} conversions are already waiting; try again later") from None
        return await future

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker."""
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def running(self) -> int:
        """Jobs a worker has taken (diagnostics and tests)."""
        return len(self._inflight)

    def worker_pids(self) -> list[int]:
        """PIDs of the live worker processes (diagnostics and tests)."""
        return [p.pid for slot in self._slots for p in slot.processes if p.pid is not None and p.is_alive()]

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting jobs, fail the queued ones, and stop every worker.

        Running jobs get ``grace`` seconds to finish (their callers get their results); after that
        their callers get :class:`PoolClosedError` and the workers are killed. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        if self._queue is not None:
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(PoolClosedError("the conversion pool was closed"))
        running = [future for future in self._inflight if not future.done()]
        if running:
            await asyncio.wait(running, timeout=grace)
        for slot in self._slots:
            for task in (slot.dispatcher, slot.starting):
                if task is not None:
                    task.cancel()
        processes = [p for slot in self._slots for p in slot.processes]
        # Idle workers exit as soon as they read the stop message; busy ones are past their grace.
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, p.stop, 1.0) for p in processes), return_exceptions=True
        )
        tasks = [t for slot in self._slots for t in (slot.dispatcher, slot.starting) if t is not None]
        await asyncio.gather(*tasks, *self._background, return_exceptions=True)
        for slot in self._slots:
            slot.processes.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> ConversionPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- internals
    def _ensure_running(self) -> asyncio.Queue[tuple[ConversionJob, asyncio.Future[ConversionResult]]]:
        """Create the queue and dispatcher tasks in the running loop (on first use)."""
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self.max_queued)
            for slot in self._slots:
                slot.dispatcher = asyncio.create_task(self._dispatch(slot), name=f"conversion-slot-{slot.index}")
        return self._queue

    def _spawn_soon(self, slot: _Slot) -> None:
        """Start a replacement worker in the background, unless the pool is closing."""
        slot.starting = None if self._closed else asyncio.create_task(self._spawn(slot))

    async def _spawn(self, slot: _Slot) -> WorkerProcess:
        worker = WorkerProcess(self._handler, self._warmup)
        slot.processes.add(worker)  # registered before start, so close() can kill a slow starter
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, worker.start, self.startup_timeout)
        except ConversionError:
            slot.processes.discard(worker)  # start() already killed it if it was running
            raise
        return worker

    async def _worker(self, slot: _Slot) -> WorkerProcess:
        """The slot's ready worker, starting one if needed."""
        if slot.starting is None:
            slot.starting = asyncio.create_task(self._spawn(slot))
        try:
            return await asyncio.shield(slot.starting)
        except ConversionError:
            slot.starting = None  # let the next job try again
            raise

    def _retire(self, slot: _Slot, worker: WorkerProcess, kill: bool) -> None:
        """Take ``worker`` out of service (stop it gently, or kill it) and start its replacement."""
        loop = asyncio.get_running_loop()

        async def finish() -> None:
            await loop.run_in_executor(self._executor, worker.kill if kill else worker.stop)
            slot.processes.discard(worker)

        task = asyncio.create_task(finish())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        self._spawn_soon(slot)

    async def _dispatch(self, slot: _Slot) -> None:
        """Feed queued jobs to this slot's worker, one at a time, forever (until cancelled)."""
        assert self._queue is not None
        while True:
            job, future = await self._queue.get()
            if future.done():  # the caller gave up while the job was queued
                continue
            self._inflight.add(future)
            try:
                result = await self._run(slot, job)
            except asyncio.CancelledError:  # close() ran out of patience with this job
                if not future.done():
                    future.set_exception(PoolClosedError("the conversion pool was closed before the job finished"))
                raise
            except Exception as exc:  # a bug here must not stop the dispatcher: later jobs would hang
                logger.exception("conversion job %s failed inside the pool", job.job_id)
                result = ConversionResult.failure(job, ConversionError(f"internal error: {type(exc).__name__}"))
            finally:
                self._inflight.discard(future)
            if not future.done():
                future.set_result(result)

    async def _run(self, slot: _Slot, job: ConversionJob) -> ConversionResult:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            worker = await self._worker(slot)
        except ConversionError as exc:
            return ConversionResult.failure(job, exc)
        try:
            data = await loop.run_in_executor(self._executor, worker.run, job.to_dict(), self.job_timeout)
        except ConversionError as exc:  # it timed out (and was killed), or died: replace it
            logger.warning("conversion worker %s failed job %s: %s", worker.pid, job.job_id, exc.message)
            self._retire(slot, worker, kill=True)
            result = ConversionResult.failure(job, exc, worker_pid=worker.pid)
        else:
            if worker.jobs_done >= self.max_jobs_per_worker:
                self._retire(slot, worker, kill=False)
            return ConversionResult.from_dict(data)
        result.seconds = time.perf_counter() - started
        # A killed worker cannot clean up after itself: remove its half-written output.
        await loop.run_in_executor(self._executor, shutil.rmtree, job.staging_dir, True)
        return result
