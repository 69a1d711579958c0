"""One SQLite file shared by every service: one writer thread, thread-local readers.

Writes never run on the event loop. They queue to a single writer thread which runs every
job waiting in the queue inside one ``BEGIN IMMEDIATE`` transaction (group commit). Should one
job fail (a duplicate id, say), the batch rolls back and runs again with each job in its own
savepoint, so that the failure does not undo the others; a job acts only through its connection,
so running it twice is harmless. Reads run
on a small pool of threads, each with its own read-only connection; WAL lets them run beside the
writer. One exception, a fast path (:mod:`backend.fastpaths`): small, indexed reads run on the
event loop's own read-only connection, with a budget of SQLite work that sends any longer read
to a thread (:meth:`SqliteDatabase.read_bounded`); they read pages SQLite mostly has in its cache.
Several processes may share the file: a busy writer makes the others wait (busy timeout).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .. import fastpaths

T = TypeVar("T")
log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 30_000
MAX_BATCH = 256
_STOP = object()


def _connect(path: str, readonly: bool, busy_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    if readonly:
        conn.execute("PRAGMA query_only=1")
    else:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-32000")
    return conn


class SqliteDatabase:
    """A SQLite file opened for asyncio use. ``await db.write(fn)`` / ``await db.read(fn)``
    run ``fn(connection)`` on the writer thread or a reader thread and return its result."""

    def __init__(self, path: str | Path, readers: int = 3) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="plume-sqlite-read")
        self._writer_conn = _connect(self.path, readonly=False)
        self._writer = threading.Thread(target=self._write_loop, name="plume-sqlite-write", daemon=True)
        self._writer.start()
        self.closed = False

    # ------------------------------------------------------------------ writer
    def _write_loop(self) -> None:
        conn = self._writer_conn
        while True:
            job = self._jobs.get()
            if job is _STOP:
                break
            batch = [job]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._jobs.put(_STOP)
                    break
                batch.append(nxt)
            self._run_batch(conn, batch)
        conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        if len(batch) == 1:
            self._run_alone(conn, batch[0])
            return
        try:
            # Optimistic first: the whole batch in one transaction, no savepoint per job (two
            # statements fewer each). Should a job fail, its partial changes are mixed with the
            # others', so the batch rolls back and runs again with each job in its own savepoint.
            results = self._run_together(conn, batch) or self._run_isolated(conn, batch)
        except sqlite3.Error as exc:
            log.error("sqlite write batch failed: %s", exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(fut, None, exc) for _, _, fut in batch]
        # One wake-up of each event loop per batch, not one per write: waking a loop from another
        # thread costs more than most writes.
        by_loop: dict[Any, list[tuple[Any, Any, BaseException | None]]] = {}
        for (_, loop, _), outcome in zip(batch, results, strict=True):
            by_loop.setdefault(loop, []).append(outcome)
        for loop, outcomes in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, outcomes)

    @staticmethod
    def _run_together(conn: sqlite3.Connection, batch: list[Any]) -> list[tuple[Any, Any, None]] | None:
        """Every job in one transaction; None (rolled back) as soon as one raises."""
        conn.execute("BEGIN IMMEDIATE")
        results = []
        for fn, _loop, fut in batch:
            try:
                results.append((fut, fn(conn), None))
            except BaseException:
                conn.execute("ROLLBACK")
                return None
        conn.execute("COMMIT")
        return results

    @staticmethod
    def _run_isolated(conn: sqlite3.Connection, batch: list[Any]) -> list[tuple[Any, Any, BaseException | None]]:
        """Every job in its own savepoint: one that fails is undone alone."""
        results: list[tuple[Any, Any, BaseException | None]] = []
        conn.execute("BEGIN IMMEDIATE")
        for fn, _loop, fut in batch:
            conn.execute("SAVEPOINT job")
            try:
                value = fn(conn)
                conn.execute("RELEASE job")
                results.append((fut, value, None))
            except BaseException as exc:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                results.append((fut, None, exc))
        conn.execute("COMMIT")
        return results

    def _run_alone(self, conn: sqlite3.Connection, job: Any) -> None:
        """A batch of one job: its own transaction is its savepoint (two statements fewer)."""
        fn, loop, fut = job
        value: Any = None
        error: BaseException | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                value = fn(conn)
            except BaseException as exc:
                error = exc
                conn.execute("ROLLBACK")
            else:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("sqlite write failed: %s", exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            value, error = None, exc
        loop.call_soon_threadsafe(_settle_all, [(fut, value, error)])

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in the writer thread inside a transaction; its changes commit before this returns.

        ``fn`` must act only through the connection it is given: when another job of its batch
        fails, it is rolled back and run again.
        """
        if self.closed:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, loop, fut))
        return await fut

    # ------------------------------------------------------------------ readers
    def _reader(self, busy_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _connect(self.path, readonly=True, busy_ms=busy_ms)
            self._reader_conns.append(conn)
        return conn

    def _loop_reader(self) -> tuple[sqlite3.Connection, _Budget]:
        """The event loop thread's connection (no busy timeout) and its work budget, made once."""
        local = self._local
        conn = self._reader(busy_ms=0)
        local.loop = (conn, _Budget())
        local.inline = True  # this thread's reads run inline, always through read_bounded
        return local.loop

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on a reader thread's connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: fn(self._reader()))

    async def read_bounded(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Try ``fn`` on the loop thread within a budget of SQLite work, else on a reader thread.

        A hop to a reader thread costs 50-250 µs here, more than most indexed queries. So a read
        first runs inline with a progress handler that interrupts it after about ``INLINE_BUDGET``
        virtual machine steps (about a millisecond); an interrupted read, or one that raises
        :class:`TooBigInline` (rows too large to parse on the loop), is re-run on a reader thread.
        The loop's connection never waits for a
        lock (busy timeout 0): a read that finds the file busy (another process recovering or
        checkpointing it) goes to a reader thread, which may wait.
        """
        value = self.read_first(fn)
        if value is ON_THREAD:
            return await self.read(fn)
        return value  # type: ignore[return-value]

    def read_first(self, fn: Callable[[sqlite3.Connection], T], *, budget: bool = True) -> T | _OnThread:
        """:meth:`read_inline` on the fast path; :data:`ON_THREAD` (run it with :meth:`read`)
        when ``PLUME_FAST_PATHS=0``."""
        return self.read_inline(fn, budget=budget) if fastpaths.ENABLED else ON_THREAD

    def read_inline(self, fn: Callable[[sqlite3.Connection], T], *, budget: bool = True) -> T | _OnThread:
        """The inline half of :meth:`read_bounded`: ``fn``'s result, or :data:`ON_THREAD` when the
        read must be re-run with :meth:`read` (callers that await only then save a coroutine).
        ``budget=False`` is for reads bounded by construction (one primary-key lookup): they skip
        the progress handler but keep the row-size cap."""
        try:
            conn, steps = self._local.loop
        except AttributeError:
            conn, steps = self._loop_reader()
        if budget:
            steps.calls = 0
            conn.set_progress_handler(steps, BUDGET_TICK)
        try:
            return fn(conn)
        except TooBigInline:
            pass
        except sqlite3.OperationalError as exc:
            if not any(word in str(exc) for word in ("interrupted", "locked", "busy")):
                raise
        finally:
            if budget:
                conn.set_progress_handler(None, 0)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        return ON_THREAD

    @property
    def inline(self) -> bool:
        """True on the event loop's thread once it has read (it reads only inline, through
        :meth:`read_inline`); False on reader threads. Read functions ask it to refuse big rows."""
        return bool(getattr(self._local, "inline", False))

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Finish queued writes, then close every connection."""
        if self.closed:
            return
        self.closed = True
        self._jobs.put(_STOP)
        self._writer.join(timeout=60)
        self._readers.shutdown(wait=True)
        for conn in self._reader_conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass


INLINE_BUDGET = 20_000  # SQLite VM steps a read may take on the event loop
BUDGET_TICK = 1_000  # steps between progress-handler calls


class _Budget:
    """The progress handler of the loop's connection: interrupts a read once it has spent about
    ``INLINE_BUDGET`` steps.

    SQLite counts a prepared statement's steps across all its executions, and Python caches
    statements: the handler's first call during one read may come after a single step of it. So
    calls are counted per read (``calls`` is reset by :meth:`SqliteDatabase.read_inline`) in ticks
    of ``BUDGET_TICK`` steps, instead of interrupting at the first call (which sent about one small
    indexed read in a hundred to a reader thread).
    """

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls > INLINE_BUDGET // BUDGET_TICK  # non-zero: abort the statement


class _OnThread:
    """The type of :data:`ON_THREAD`."""


ON_THREAD = _OnThread()  # read_inline's answer when the read must run on a reader thread


class TooBigInline(Exception):
    """Raised by a read function when its rows are too large to decode on the event loop."""


def _settle_all(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, value, exc in outcomes:
        if fut.cancelled():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(value)
