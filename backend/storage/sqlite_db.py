"""One SQLite file shared by every service: one writer thread, thread-local readers.

The event loop never touches the disk. Writes queue to a single writer thread which runs every
job waiting in the queue inside one ``BEGIN IMMEDIATE`` transaction (group commit), each in its
own savepoint so that one failing job (a duplicate id, say) does not undo the others. Reads run
on a small pool of threads, each with its own read-only connection; WAL lets them run beside the
writer. Several processes may share the file: a busy writer makes the others wait (busy timeout).
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

T = TypeVar("T")
log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 30_000
MAX_BATCH = 256
_STOP = object()


def _connect(path: str, readonly: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
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
        results: list[tuple[Any, Any, BaseException | None]] = []
        try:
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
        except sqlite3.Error as exc:
            log.error("sqlite write batch failed: %s", exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(fut, None, exc) for _, _, fut in batch]
        for (_, loop, _), (fut, value, exc) in zip(batch, results, strict=True):
            loop.call_soon_threadsafe(_settle, fut, value, exc)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in the writer thread inside a transaction; its changes commit before this returns."""
        if self.closed:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, loop, fut))
        return await fut

    # ------------------------------------------------------------------ readers
    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _connect(self.path, readonly=True)
            self._reader_conns.append(conn)
        return conn

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on a reader thread's connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: fn(self._reader()))

    def read_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the calling (event loop) thread's own read connection.

        Only for reads whose cost is bounded and tiny (a primary-key lookup of one size-capped row:
        a few cached pages, ~10 µs), where the hop to a reader thread would cost more than the read.
        """
        return fn(self._reader())

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


def _settle(fut: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if fut.cancelled():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)
