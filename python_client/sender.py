"""The background sender: the Writer's only link to the backend, so training never waits for it.

The training thread only records changes (on disk, through :class:`~python_client.rundir.RunState`)
and calls :meth:`BackgroundSender.notify`, which never blocks: it puts a notice in a bounded
queue, and drops it when the queue is full. Nothing is lost by dropping: each pass of the sender
thread syncs the whole current state (:class:`~python_client.reconcile.RunSync`), so one pass
covers every change made before it, and the thread keeps passing while the state is newer than
what it last sent.

A pass that fails is sorted by :func:`python_client.failures.classify`:

* transient (5xx, timeouts, a connection broken mid-way) or unreachable (connection refused): the
  sender warns once, backs off (doubling up to ``max_backoff``) and tries again; when the backend
  is back, it catches up;
* lasting (401/403/400/413..., or a bug in the client): retrying would only hide the cause, so the
  sender logs an ERROR naming it and stops; the run stays on disk for ``plume sync`` (or whatever
  ``resume`` names: an ``em`` run's ``em.upload('<dir>')``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from . import failures
from .errors import PlumeError
from .failures import Kind, explain

log = logging.getLogger("python_client")
_STOP = object()


class BackgroundSender:
    """Runs ``step()`` in a daemon thread whenever ``version()`` is ahead of what was last sent.

    Args:
        step: One sync pass; raises when it could not finish.
        version: The current version of the state (increases with each change).
        describe: Text for the logs ("run mnist-3 (marcelle-logs/...)").
        max_queue: Bound of the notice queue.
        backoff, max_backoff: Seconds between failed passes (doubling).
        classify: Sorts a pass's exception (:func:`python_client.failures.classify`).
        give_up_after: :meth:`wait` returns early once this many passes in a row could not reach
            the backend at all.
        resume: How the user sends what is left later, for the warnings (a Writer's run:
            `plume sync`; an ``em`` run: ``em.upload('<its folder>')``).
    """

    def __init__(self, step: Callable[[], Any], version: Callable[[], int], *, describe: Callable[[], str],
                 max_queue: int = 64, backoff: float = 0.5, max_backoff: float = 30.0,
                 classify: Callable[[BaseException], Kind] = failures.classify, give_up_after: int = 3,
                 resume: str = "`plume sync`") -> None:
        self._step = step
        self._resume = resume
        self._version = version
        self._describe = describe
        self._classify = classify
        self._give_up_after = give_up_after
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._cond = threading.Condition()
        self.synced_version = -1
        self.failures = 0  # failed passes so far
        self.unreachable = 0  # passes in a row that could not reach the backend
        self.passes = 0
        self.dropped = 0  # notices dropped because the queue was full (harmless, see module doc)
        self.cpu_seconds = 0.0  # CPU time the passes took (uploads, conversions): what training shares
        self.last_error: BaseException | None = None
        self.stopped_by: BaseException | None = None  # the lasting error that ended the passes
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
        """Wait until every change made so far is on the backend; False if it is not, by ``timeout``.

        Failures that may pass (a 503, a timeout, a connection broken mid-way) do not end the wait:
        the sender retries until the deadline (``None``: none). The wait ends early, with False,
        when the backend is plainly unreachable (``give_up_after`` passes in a row refused, one of
        them during this wait: a backend that is down does not make the caller sit out the
        timeout), when a lasting error stopped the sender, or when its thread is gone.
        """
        target = self._version()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            failures = self.failures
            self._flush.set()
            self.notify()
            while self.synced_version < target:
                if self.stopped_by is not None or not self._thread.is_alive():
                    return False
                if self.failures > failures and self.unreachable >= self._give_up_after:
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                # Bounded, so that a thread that died without a word is noticed too.
                self._cond.wait(1.0 if remaining is None else min(remaining, 1.0))
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread: at once when it is idle, else after its current pass (waited for at most
        ``timeout`` seconds; a pass still running then ends with the process)."""
        self._closed = True
        try:
            self._queue.put_nowait(_STOP)  # wakes an idle thread
        except queue.Full:
            pass  # the thread is in a pass, and sees ``_closed`` when it ends
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            with self._cond:  # nothing more will be sent: waiters need not wait for it
                self._cond.notify_all()

    def _loop(self) -> None:
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
                    kind = self._classify(exc)
                    if kind is Kind.LASTING:
                        self._stopped(exc)
                        return
                    self._failed(exc, kind)
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
            self.unreachable = 0
            self.passes += 1
            self.synced_version = max(self.synced_version, version)
            self._cond.notify_all()

    def _failed(self, exc: BaseException, kind: Kind) -> None:
        """A pass failed for a reason that may pass (called in the ``except`` block)."""
        if not self.offline:
            message = ("Plume backend unavailable (%s): training goes on; %s is kept on disk and will be sent "
                       "when the backend is back, or with %s")
            if isinstance(exc, PlumeError):
                log.warning(message, exc, self._describe(), self._resume)
            else:  # not the backend's answer: whatever it is, its traceback is what explains it
                log.exception(message, f"{type(exc).__name__}: {exc}", self._describe(), self._resume)
        log.debug("sync pass failed", exc_info=exc)
        with self._cond:
            self.offline = True
            self.last_error = exc
            self.failures += 1
            self.unreachable = self.unreachable + 1 if kind is Kind.UNREACHABLE else 0
            self.passes += 1
            self._cond.notify_all()

    def _stopped(self, exc: BaseException) -> None:
        """A pass failed for a lasting reason (called in the ``except`` block): say why, and stop."""
        message = ("Plume: %s. Training goes on, but %s is no longer sent by this process: it is kept on disk, "
                   "and %s sends it once that is fixed")
        if isinstance(exc, PlumeError):
            log.error(message, explain(exc), self._describe(), self._resume)
        else:
            log.exception(message, explain(exc), self._describe(), self._resume)
        with self._cond:
            self.offline = True
            self.last_error = self.stopped_by = exc
            self.failures += 1
            self.passes += 1
            self._cond.notify_all()
