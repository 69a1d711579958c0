"""SQLite-specific behaviour: group commit isolation, big multi writes, data on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend import fastpaths
from backend.errors import Conflict
from backend.hooks import Params
from backend.storage import SqliteStorage
from backend.storage.base import AdapterOptions


@pytest.fixture
async def adapter(tmp_path: Path):  # type: ignore[no-untyped-def]
    storage = SqliteStorage(f"sqlite:///{tmp_path}/t.sqlite3")
    a = storage.adapter("things", AdapterOptions(multi=True, paginate=None))
    await a.setup(None, "things")
    yield a
    await storage.close()


def thread_reads(adapter) -> list[str]:  # type: ignore[no-untyped-def]
    """A list that gets "thread" for each read the adapter runs on a reader thread."""
    calls: list[str] = []
    read = adapter.db.read

    async def spy(fn):  # type: ignore[no-untyped-def]
        calls.append("thread")
        return await read(fn)

    adapter.db.read = spy
    return calls


async def test_a_failing_write_does_not_undo_its_batch(adapter) -> None:  # type: ignore[no-untyped-def]
    await adapter.create({"_id": "dup", "n": 0}, Params())
    results = await asyncio.gather(
        *[adapter.create({"n": i}, Params()) for i in range(1, 50)],
        adapter.create({"_id": "dup", "n": -1}, Params()),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert len(await adapter.find(Params())) == 50


async def test_multi_patch_and_remove_beyond_the_variable_limit(adapter) -> None:  # type: ignore[no-untyped-def]
    await adapter.create([{"g": 1, "i": i} for i in range(40_000)], Params())
    patched = await adapter.patch(None, {"seen": True}, Params(query={"g": 1}))
    assert len(patched) == 40_000
    assert len(await adapter.find(Params(query={"seen": True, "$select": ["i"]}))) == 40_000
    assert len(await adapter.remove(None, Params(query={"g": 1}))) == 40_000
    assert await adapter.find(Params()) == []


async def test_reads_past_the_inline_budget_or_size_cap_fall_back_to_a_thread(adapter) -> None:  # type: ignore[no-untyped-def]
    await adapter.create([{"g": i % 7, "i": i} for i in range(20_000)], Params())
    big = await adapter.create({"g": 99, "blob": "x" * 200_000}, Params())
    calls = thread_reads(adapter)
    # An unindexed scan of 20k rows: more SQLite work than the inline budget allows.
    page = await adapter.find(Params(query={"i": {"$gte": 19_995}}))
    assert [r["i"] for r in page] == [19_995, 19_996, 19_997, 19_998, 19_999] and calls == ["thread"]
    got = await adapter.get(big["_id"], Params())  # a 200 kB row is not decoded on the loop
    assert len(got["blob"]) == 200_000 and calls == ["thread", "thread"]
    small = (await adapter.find(Params(query={"i": 5, "g": 5, "$limit": 1})))[0]
    assert small["i"] == 5


async def test_small_reads_repeated_stay_on_the_loop(adapter) -> None:  # type: ignore[no-untyped-def]
    """SQLite counts a cached statement's steps over all its runs: the budget is per read, so a
    small query run thousands of times never crosses it (it did about once in a hundred runs)."""
    await adapter.create([{"g": i % 50, "i": i} for i in range(500)], Params())
    calls = thread_reads(adapter)
    for i in range(3000):
        page = await adapter.find(Params(query={"i": i % 500}))
        assert len(page) == 1
    # PLUME_FAST_PATHS=0 turns the inline reads off: then every read goes to a reader thread.
    assert calls == ([] if fastpaths.ENABLED else ["thread"] * 3000)


async def test_reads_on_the_loop_never_wait_for_a_lock(adapter) -> None:  # type: ignore[no-untyped-def]
    """The loop's connection has no busy timeout: a read that finds the file locked (another process
    recovering or checkpointing it) is re-run on a reader thread, which waits for the lock."""
    import sqlite3

    from backend.storage.sqlite_db import BUSY_TIMEOUT_MS

    calls: list[tuple[bool, int]] = []

    def fn(conn: sqlite3.Connection) -> str:
        calls.append((adapter.db.inline, conn.execute("PRAGMA busy_timeout").fetchone()[0]))
        if adapter.db.inline:
            raise sqlite3.OperationalError("database is locked")
        return "ok"

    assert await adapter.db.read_bounded(fn) == "ok"
    on_thread = (False, BUSY_TIMEOUT_MS)
    assert calls == ([(True, 0), on_thread] if fastpaths.ENABLED else [on_thread])


async def test_a_batch_rerun_after_a_failure_applies_each_write_once(tmp_path: Path) -> None:
    """A failing job rolls its batch back; the others run again, each in a savepoint, exactly once."""
    import sqlite3

    from backend.storage.sqlite_db import SqliteDatabase

    db = SqliteDatabase(tmp_path / "c.sqlite3")
    await db.write(lambda c: c.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)"))
    await db.write(lambda c: c.execute("INSERT INTO t VALUES ('hits', 0), ('dup', 0)"))

    def hit(conn: sqlite3.Connection) -> int:
        return conn.execute("UPDATE t SET n = n + 1 WHERE k = 'hits' RETURNING n").fetchone()[0]

    def fail(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE t SET n = n + 100 WHERE k = 'hits'")  # undone with its savepoint
        conn.execute("INSERT INTO t VALUES ('dup', 1)")

    try:
        for _ in range(5):
            jobs = [db.write(hit) for _ in range(30)] + [db.write(fail)] + [db.write(hit) for _ in range(30)]
            results = await asyncio.gather(*jobs, return_exceptions=True)
            assert sum(isinstance(r, sqlite3.IntegrityError) for r in results) == 1
        total = await db.read(lambda c: c.execute("SELECT n FROM t WHERE k = 'hits'").fetchone()[0])
        assert total == 5 * 60
        counts = sorted(r for r in results if isinstance(r, int))
        assert len(set(counts)) == 60  # every successful write saw its own, distinct increment
    finally:
        db.close()


async def test_reads_on_the_loop_see_every_write_awaited_before_them(tmp_path: Path) -> None:
    """A write that completed before a read began (through this database or another connection to
    the file, as another process's would) is always in what the read sees."""
    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    here, there = SqliteStorage(url), SqliteStorage(url)
    mine = here.adapter("things", AdapterOptions(paginate=None))
    theirs = there.adapter("things", AdapterOptions(paginate=None))
    await mine.setup(None, "things")
    await theirs.setup(None, "things")

    async def writer(w: int) -> None:
        for i in range(60):
            source = theirs if (w + i) % 2 else mine
            rec = await source.create({"w": w, "i": i}, Params())
            assert (await mine.get(rec["_id"], Params()))["i"] == i  # read-your-write, either writer
            patched = await source.patch(rec["_id"], {"i": -i}, Params())
            assert (await mine.get(rec["_id"], Params()))["i"] == patched["i"]
            assert len(await mine.find(Params(query={"w": w}))) == i + 1

    try:
        await asyncio.gather(*(writer(w) for w in range(8)))
        conns = [mine.db._local.loop[0]] if fastpaths.ENABLED else mine.db._reader_conns
        assert not any(c.in_transaction for c in conns)  # no read snapshot is left open
    finally:
        await here.close()
        await there.close()


async def test_no_read_transaction_outlives_its_read(adapter) -> None:  # type: ignore[no-untyped-def]
    """Read transactions last one read, so the writer's automatic checkpoints can always restart
    the WAL. (Holding the loop's snapshot for a whole loop iteration saved two fcntl calls per read
    but let the WAL grow 3x under constant reads; the WAL's size itself depends on timing, so this
    checks the cause.)"""
    reads = 0
    open_after_read = 0

    async def reader() -> None:
        nonlocal reads, open_after_read
        for _ in range(300):
            await adapter.find(Params(query={"$limit": 5}))
            # The loop's connection (fast path) and the reader threads' (every read without it).
            conns = [adapter.db._local.loop[0]] if fastpaths.ENABLED else list(adapter.db._reader_conns)
            reads += 1
            open_after_read += sum(c.in_transaction for c in conns)
            await asyncio.sleep(0)

    async def writer() -> None:
        for i in range(300):
            await adapter.create({"blob": "x" * 2000, "i": i}, Params())

    await asyncio.gather(*(reader() for _ in range(4)), writer())
    assert reads == 1200 and open_after_read == 0


async def test_patch_sql_does_not_grow_with_field_names(adapter) -> None:  # type: ignore[no-untyped-def]
    """Clients choose field names: the statements a patch runs (and SQLite's statement cache keeps)
    depend only on how many fields it sets. (Names were once part of the SQL text: 200 patches
    with distinct 1 MB names held 700 MB.)"""
    from backend.storage.sqlite import _setter

    rec = await adapter.create({"n": 0}, Params())
    await adapter.create([{"g": 1}, {"g": 1}], Params())
    statements: set[str] = set()
    write = adapter.db.write

    class Recording:  # the writer's connection, noting each statement's text
        def __init__(self, conn):  # type: ignore[no-untyped-def]
            self.conn = conn

        def execute(self, sql, *args):  # type: ignore[no-untyped-def]
            statements.add(sql)
            return self.conn.execute(sql, *args)

        def executemany(self, sql, *args):  # type: ignore[no-untyped-def]
            statements.add(sql)
            return self.conn.executemany(sql, *args)

    adapter.db.write = lambda fn: write(lambda conn: fn(Recording(conn)))
    for i in range(40):
        await adapter.patch(rec["_id"], {f"field {i} " + "x" * 100: i}, Params())
        await adapter.patch(None, {f"other {i}": i}, Params(query={"g": 1}))
    assert statements and all("field" not in s and "other" not in s for s in statements)
    assert len(statements) <= 2 and _setter.cache_info().currsize <= 10
    assert (await adapter.get(rec["_id"], Params()))["field 39 " + "x" * 100] == 39
    assert all(r["other 39"] == 39 for r in await adapter.find(Params(query={"g": 1})))


async def test_field_names_without_utf8_are_bad_requests(adapter) -> None:  # type: ignore[no-untyped-def]
    """A lone surrogate has no UTF-8 form: a 400 from every write, never an error in the writer."""
    from backend.errors import BadRequest

    rec = await adapter.create({"n": 0}, Params())
    for call in (adapter.create({"\ud800": 1}, Params()), adapter.patch(rec["_id"], {"\ud800": 1}, Params()),
                 adapter.patch(None, {"\ud800x": 1}, Params(query={"n": 0})),
                 adapter.find(Params(query={"\udfff": 1}))):
        with pytest.raises(BadRequest):
            await call
    assert await adapter.get(rec["_id"], Params()) == rec
