"""The background sender: the Writer's only link to the backend, so training never waits for it.

The training thread only records changes (on disk, through :class:`~python_client.rundir.RunState`)
and calls :meth:`BackgroundSender.notify`, which never blocks: it puts a notice in a bounded
queue, and drops it when the queue is full. Nothing is lost by dropping: each pass of the sender
thread syncs the whole current state (:class:`~python_client.reconcile.RunSync`), so one pass
covers every change made before it, and the thread keeps passing while the state is newer than
what it last sent. When a pass fails (backend down, 5xx, timeouts), the sender warns once, backs
off (doubling up to ``max_backoff``) and tries again; when the backend is back, it catches up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("python_client")
_STOP = object()


class BackgroundSender:
    """Runs ``step()`` in a daemon thread whenever ``version()`` is ahead of what was last sent.

    Args:
        step: One sync pass; raises when it could not finish.
        version: The current version of the state (increases with each change).
        describe: Text for the warnings ("run mnist-3 in marcelle-logs/...").
        max_queue: Bound of the notice queue.
        backoff, max_backoff: Seconds between failed passes (doubling).
    """

    def __init__(self, step: Callable[[], Any], version: Callable[[], int], *, describe: Callable[[], str],
                 max_queue: int = 64, backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        self._step = step
        self._version = version
        self._describe = describe
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._cond = threading.Condition()
        self.synced_version = -1
        self.failures = 0  # failed passes so far
        self.passes = 0
        self.dropped = 0  # notices dropped because the queue was full (harmless, see module doc)
        self.cpu_seconds = 0.0  # CPU time the passes took (uploads, conversions): what training shares
        self.last_error: BaseException | None = None
        self.offline = False
        self._closed = False
        self._flush = threading.Event()
        self._thread = threading.Thread(target=self._run, name="plume-sender", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Ask for a pass; never blocks."""
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            self.dropped += 1

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every change made so far is on the backend; False on timeout or a failed pass.

        A pass that fails after the call returns False at once: a backend that is down does not
        make the caller wait out the timeout.
        """
        target = self._version()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            failures = self.failures
            self._flush.set()
            self.notify()
            while self.synced_version < target:
                if self.failures > failures or (self._closed and not self._thread.is_alive()):
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining if remaining is not None else 1.0)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread (after its current pass, waiting at most ``timeout`` seconds)."""
        self._closed = True
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        delay = self._backoff
        next_try = 0.0
        while True:
            timeout = max(0.0, next_try - time.monotonic()) if self.offline else None
            try:
                notice = self._queue.get(timeout=timeout)
            except queue.Empty:
                notice = None  # the back-off elapsed: try again
            if notice is _STOP or self._closed:
                return
            if self.offline and not self._flush.is_set() and time.monotonic() < next_try:
                continue  # backing off: changes wait for the next try (a flush does not)
            self._flush.clear()
            while True:  # one pass covers every notice queued so far
                try:
                    if self._queue.get_nowait() is _STOP:
                        self._closed = True
                except queue.Empty:
                    break
            while not self._closed and self._version() > self.synced_version:
                target = self._version()
                started = time.thread_time()
                try:
                    self._step()
                except Exception as exc:
                    self.cpu_seconds += time.thread_time() - started
                    self._failed(exc)
                    next_try = time.monotonic() + delay
                    delay = min(delay * 2, self._max_backoff)
                    break
                self.cpu_seconds += time.thread_time() - started
                delay = self._backoff
                self._succeeded(target)

    def _succeeded(self, version: int) -> None:
        if self.offline:
            log.warning("Plume backend reachable again: sending %s", self._describe())
        with self._cond:
            self.offline = False
            self.passes += 1
            self.synced_version = max(self.synced_version, version)
            self._cond.notify_all()

    def _failed(self, exc: BaseException) -> None:
        if not self.offline:
            log.warning("Plume backend unavailable (%s): training goes on; %s is kept on disk and will be "
                        "sent when the backend is back, or with `plume sync`", exc, self._describe())
        log.debug("sync pass failed", exc_info=exc)
        with self._cond:
            self.offline = True
            self.last_error = exc
            self.failures += 1
            self.passes += 1
            self._cond.notify_all()
