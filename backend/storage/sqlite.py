"""SQLite adapter: one table per service, ``(id TEXT PRIMARY KEY, doc TEXT)`` with JSON documents."""

from __future__ import annotations

import functools
import hashlib
import logging
import sqlite3
from typing import Any

import orjson

from ..errors import BadRequest, Conflict
from ..query import And, ByteBudget, Cond, IdIn, Query, conjoin, safe_label, split_path
from .base import AdapterOptions, StorageAdapter
from .names import service_name, storage_name
from .sql import SqlBuilder, index_sql, json_path, quote_ident
from .sqlite_db import ON_THREAD, SqliteDatabase, TooBigInline

log = logging.getLogger(__name__)
TABLE_PREFIX = "svc_"
INLINE_MAX = 64 * 1024  # bytes of JSON a row may have to be decoded on the event loop
MAX_SET_FIELDS = 60  # fields one json_set() may take (SQLite allows 127 function arguments)


def _single_key(where: Cond) -> bool:
    """True when ``where`` pins one primary key (so the read touches at most one row)."""
    if isinstance(where, IdIn):
        return len(where.keys) == 1
    return isinstance(where, And) and any(isinstance(c, IdIn) and len(c.keys) == 1 for c in where.items)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:
        raise BadRequest(f"Data is not valid JSON: {exc}") from None


def parse_index_spec(spec: Any) -> list[tuple[tuple[str, ...], int]]:
    """``"name"``, ``["createdAt", -1]`` or ``[["a", 1], ["b", -1]]`` as ``[(path, direction)]``."""
    if isinstance(spec, str):
        return [(split_path(spec), 1)]
    if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and spec[1] in (1, -1):
        return [(split_path(spec[0]), int(spec[1]))]
    if isinstance(spec, list) and spec and all(isinstance(s, list) for s in spec):
        return [item for s in spec for item in parse_index_spec(s)]
    raise ValueError(f"invalid index spec {spec!r}")


class SqliteAdapter(StorageAdapter):
    """A service stored in a table of a shared :class:`SqliteDatabase`."""

    def __init__(self, name: str, db: SqliteDatabase, options: AdapterOptions | None = None) -> None:
        super().__init__(name, options)
        self.db = db
        self.table = TABLE_PREFIX + storage_name(name)
        self._t = quote_ident(self.table)
        # get/patch/update/remove by id: one primary-key lookup, the commonest read by far.
        self._by_key_sql = f"SELECT length(doc) <= {INLINE_MAX}, doc FROM {self._t} WHERE id = ?"

    async def setup(self, app: Any, path: str) -> None:
        statements = [f"CREATE TABLE IF NOT EXISTS {self._t} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)"]
        for spec in self.options.indexes:
            fields = parse_index_spec(spec)
            digest = hashlib.sha1(repr(fields).encode()).hexdigest()[:10]
            statements.append(index_sql(self.table, f"ix_{self.table}_{digest}", fields, self.id_field))

        def run(conn: sqlite3.Connection) -> None:
            for sql in statements:
                conn.execute(sql)

        await self.db.write(run)

    # ----------------------------------------------------------------- reads
    async def _find(self, query: Query) -> list[dict[str, Any]]:
        where = query.where
        if type(where) is IdIn and len(where.keys) == 1 and query.skip == 0 and query.limit != 0:
            return await self._by_key(where.keys[0])
        rows, _ = await self._find_page(query, count=False)
        return rows

    async def _by_key(self, key: str) -> list[dict[str, Any]]:
        """The record whose id is ``key`` (or none), as a list."""
        record = await self._get_key(key)
        return [] if record is None else [record]

    async def _get_key(self, key: str) -> dict[str, Any] | None:
        """The record whose id is ``key``, or None: a prepared primary-key lookup."""
        sql, db = self._by_key_sql, self.db

        def run(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(sql, (key,)).fetchone()
            if row is None:
                return None
            if not row[0] and db.inline:
                raise TooBigInline
            return orjson.loads(row[1])  # type: ignore[no-any-return]

        found = db.read_first(run, budget=False)  # one index lookup: no work budget needed
        return await db.read(run) if found is ON_THREAD else found  # type: ignore[return-value]

    async def _count(self, where: Cond) -> int:
        _, total = await self._find_page(Query(where=where, limit=0), count=True)
        return total

    async def _find_page(self, query: Query, count: bool) -> tuple[list[dict[str, Any]], int]:
        b = SqlBuilder(self.id_field)
        where = b.where(query.where)
        order = "" if _single_key(query.where) else b.order_by(query.sort)
        # Rows over INLINE_MAX bytes are not decoded on the event loop (see read_bounded).
        rows_sql = f"SELECT length(doc), doc FROM {self._t} WHERE {where} {order} LIMIT ? OFFSET ?"
        rows_params = [*b.params, -1 if query.limit is None else query.limit, query.skip]
        count_sql = f"SELECT count(*) FROM {self._t} WHERE {where}"

        def run(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], int]:
            inline = self.db.inline
            if count:  # one read transaction: the page and its count see the same snapshot
                conn.execute("BEGIN")
            try:
                rows = []
                if query.limit != 0:
                    budget = query.budget
                    if budget is not None:
                        budget.reset()  # this function may run twice (inline, then on a thread)
                    for size, doc in conn.execute(rows_sql, rows_params):
                        if inline and size > INLINE_MAX:
                            raise TooBigInline
                        if budget is not None and not budget.admit(size):
                            break
                        rows.append(orjson.loads(doc))
                total = int(conn.execute(count_sql, b.params).fetchone()[0]) if count else -1
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
            return rows, total

        return await self.db.read_bounded(run)

    async def _distinct(self, path: tuple[str, ...], where: Cond, budget: ByteBudget | None = None) -> list[Any]:
        b = SqlBuilder(self.id_field)
        x, t = b.value_expr(path), f"json_type(doc, {json_path(path)})"
        sql = (f"SELECT {x}, {t} FROM {self._t} WHERE {b.where(where)} AND {x} IS NOT NULL "
               f"GROUP BY {x}, {t} ORDER BY min(rowid)")

        def run(conn: sqlite3.Connection) -> list[Any]:
            out = []
            for value, kind in conn.execute(sql, b.params):
                # A value's JSON size, about: a string's length plus its quotes, else its text.
                if budget is not None and not budget.admit(len(value) + 2 if kind == "text" else len(str(value))):
                    break
                if kind in ("object", "array"):
                    value = orjson.loads(value)
                elif kind in ("true", "false"):
                    value = kind == "true"
                out.append(value)
            return out

        return await self.db.read(run)

    # ----------------------------------------------------------------- writes
    async def _insert(self, records: list[dict[str, Any]]) -> None:
        rows = [(self.key(r[self.id_field]), _dumps(r)) for r in records]
        sql = f"INSERT INTO {self._t} (id, doc) VALUES (?, ?)"

        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.executemany(sql, rows)
            except sqlite3.IntegrityError:
                raise Conflict("A record with that id already exists") from None

        await self.db.write(run)

    async def _replace(self, key: str, record: dict[str, Any]) -> bool:
        doc = _dumps(record)
        sql = f"UPDATE {self._t} SET doc = ? WHERE id = ?"
        return await self.db.write(lambda conn: conn.execute(sql, (doc, key)).rowcount > 0)

    async def _patch_where(self, key: str, where: Cond, data: dict[str, Any]) -> dict[str, Any] | None:
        """The id + query test, the merge and the write in one write transaction (atomic across processes)."""
        if not data:
            found = await self._find(Query(where=conjoin(IdIn((key,)), where), limit=1))
            return found[0] if found else None
        setter = _set_args(data)  # fail early (a value JSON cannot hold), outside the writer thread
        if type(where) is And and not where.items:  # by id alone, the common patch
            cond, params = "id = ?", [key]
        else:
            b = SqlBuilder(self.id_field)
            cond, params = b.where(conjoin(IdIn((key,)), where)), b.params
        if setter is not None:
            sql = f"UPDATE {self._t} SET doc = {_setter(len(data))} WHERE {cond} RETURNING doc"
            args = [*setter, *params]
            return await self.db.write(lambda conn: _first_doc(conn.execute(sql, args).fetchone()))
        select = f"SELECT id, doc FROM {self._t} WHERE {cond}"

        def merge(conn: sqlite3.Connection) -> dict[str, Any] | None:
            merged = self._merge_rows(conn, select, params, data)
            return merged[0] if merged else None

        return await self.db.write(merge)

    async def _patch(self, keys: list[str], data: dict[str, Any]) -> None:
        setter = _set_args(data)  # fail early, outside the writer thread
        if setter is not None:
            # The merge in SQL (json_set replaces or appends each top-level field, as {**old, **data}
            # does): the writer neither parses nor re-serialises the whole document.
            head = f"UPDATE {self._t} SET doc = {_setter(len(data))} WHERE id IN "

            def set_fields(conn: sqlite3.Connection) -> None:
                for chunk in _chunks(keys):
                    conn.execute(f"{head}({','.join('?' * len(chunk))})", [*setter, *chunk])

            await self.db.write(set_fields)
            return

        def run(conn: sqlite3.Connection) -> None:
            for chunk in _chunks(keys):
                select = f"SELECT id, doc FROM {self._t} WHERE id IN ({','.join('?' * len(chunk))})"
                self._merge_rows(conn, select, chunk, data)

        await self.db.write(run)

    def _merge_rows(self, conn: sqlite3.Connection, select: str, params: list[Any],
                    data: dict[str, Any]) -> list[dict[str, Any]]:
        """``{**old, **data}`` for each row of ``select`` (id, doc), written back and returned: the
        merge in Python, for field names json_set cannot take. Read-modify-write inside the
        writer's transaction, so atomic."""
        merged = [(key, {**orjson.loads(doc), **data}) for key, doc in conn.execute(select, params).fetchall()]
        conn.executemany(f"UPDATE {self._t} SET doc = ? WHERE id = ?", [(_dumps(r), key) for key, r in merged])
        return [r for _, r in merged]

    async def _delete(self, keys: list[str]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            for chunk in _chunks(keys):
                conn.execute(f"DELETE FROM {self._t} WHERE id IN ({','.join('?' * len(chunk))})", chunk)

        await self.db.write(run)


@functools.cache
def _setter(n: int) -> str:
    """``json_set(doc, ?, json(?), ...)`` for ``n`` fields: each top-level field replaced or
    appended, as ``{**old, **data}`` does. The paths are bound (:func:`_set_args`), so the SQL
    text, and what SQLite's statement cache keeps, depend only on how many fields a patch sets."""
    return "json_set(doc" + ", ?, json(?)" * n + ")"


def _set_args(data: dict[str, Any]) -> list[str] | None:
    """The bound arguments of :func:`_setter` (path, JSON value, ...), or None when json_set cannot
    take these fields (too many, or a name no JSON path label may hold)."""
    if not 0 < len(data) <= MAX_SET_FIELDS or not all(safe_label(k) for k in data):
        _dumps(data)  # a value JSON cannot hold is a 400 here too
        return None
    return [x for k, v in data.items() for x in ('$."' + k + '"', _dumps(v))]


def _first_doc(row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    return None if row is None else orjson.loads(row[0])  # type: ignore[no-any-return]


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    """Key lists short enough for SQLite's bound-variable limit."""
    return [keys[i:i + size] for i in range(0, len(keys), size)]


def _service_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?",
                        (len(TABLE_PREFIX), TABLE_PREFIX)).fetchall()
    return [row[0] for row in rows]


def stored_services(conn: sqlite3.Connection) -> list[str]:
    """The services with a table in this database."""
    names = (service_name(table[len(TABLE_PREFIX):]) for table in _service_tables(conn))
    return sorted(name for name in names if name is not None)


def rename_legacy_tables(conn: sqlite3.Connection) -> None:
    """Give tables made before storage names were encoded (``svc_<name as given>``, e.g.
    ``svc_TrainingSet``) their encoded name, so that their service finds its records again. Their
    indexes are dropped: the adapter's setup makes them again under the new table's name."""
    for table in _service_tables(conn):
        name = table[len(TABLE_PREFIX):]
        if service_name(name) is not None:
            continue
        try:
            new = TABLE_PREFIX + storage_name(name)
        except ValueError:
            log.warning("table %s belongs to no service name; left as it is", table)
            continue
        indexes = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                               "AND sql IS NOT NULL", (table,)).fetchall()
        for (index,) in indexes:
            conn.execute(f"DROP INDEX {quote_ident(index)}")
        conn.execute(f"ALTER TABLE {quote_ident(table)} RENAME TO {quote_ident(new)}")
        log.info("renamed table %s to %s (service %r)", table, new, name)
