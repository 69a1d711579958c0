"""SQLite adapter: one table per service, ``(id TEXT PRIMARY KEY, doc TEXT)`` with JSON documents."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import orjson

from ..errors import BadRequest, Conflict
from ..query import And, Cond, IdIn, Query, split_path
from .base import AdapterOptions, StorageAdapter
from .sql import SqlBuilder, index_sql, json_path, quote_ident
from .sqlite_db import SqliteDatabase, TooBigInline

INLINE_MAX = 64 * 1024  # bytes of JSON a row may have to be decoded on the event loop


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
        self.table = "svc_" + name
        self._t = quote_ident(self.table)

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
        rows, _ = await self._find_page(query, count=False)
        return rows

    async def _count(self, where: Cond) -> int:
        _, total = await self._find_page(Query(where=where, limit=0), count=True)
        return total

    async def _find_page(self, query: Query, count: bool) -> tuple[list[dict[str, Any]], int]:
        b = SqlBuilder(self.id_field)
        where = b.where(query.where)
        order = "" if _single_key(query.where) else b.order_by(query.sort)
        # Rows over INLINE_MAX bytes are not decoded on the event loop (see read_bounded).
        rows_sql = (f"SELECT length(doc) <= {INLINE_MAX}, doc FROM {self._t} WHERE {where} {order} "
                    "LIMIT ? OFFSET ?")
        rows_params = [*b.params, -1 if query.limit is None else query.limit, query.skip]
        count_sql = f"SELECT count(*) FROM {self._t} WHERE {where}"

        def run(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], int]:
            inline = self.db.inline
            if count:  # one read transaction: the page and its count see the same snapshot
                conn.execute("BEGIN")
            try:
                rows = []
                if query.limit != 0:
                    for small, doc in conn.execute(rows_sql, rows_params):
                        if inline and not small:
                            raise TooBigInline
                        rows.append(orjson.loads(doc))
                total = int(conn.execute(count_sql, b.params).fetchone()[0]) if count else -1
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
            return rows, total

        return await self.db.read_bounded(run)

    async def _distinct(self, path: tuple[str, ...], where: Cond) -> list[Any]:
        b = SqlBuilder(self.id_field)
        x, t = b.value_expr(path), f"json_type(doc, {json_path(path)})"
        sql = (f"SELECT {x}, {t} FROM {self._t} WHERE {b.where(where)} AND {x} IS NOT NULL "
               f"GROUP BY {x}, {t} ORDER BY min(rowid)")

        def run(conn: sqlite3.Connection) -> list[Any]:
            out = []
            for value, kind in conn.execute(sql, b.params):
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

    async def _patch(self, keys: list[str], data: dict[str, Any]) -> None:
        _dumps(data)  # fail early, outside the writer thread
        update = f"UPDATE {self._t} SET doc = ? WHERE id = ?"

        def run(conn: sqlite3.Connection) -> None:
            # Read-modify-write inside the writer's transaction: atomic, and any key is allowed.
            for chunk in _chunks(keys):
                select = f"SELECT id, doc FROM {self._t} WHERE id IN ({','.join('?' * len(chunk))})"
                rows = conn.execute(select, chunk).fetchall()
                conn.executemany(update, [(_dumps({**orjson.loads(doc), **data}), key) for key, doc in rows])

        await self.db.write(run)

    async def _delete(self, keys: list[str]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            for chunk in _chunks(keys):
                conn.execute(f"DELETE FROM {self._t} WHERE id IN ({','.join('?' * len(chunk))})", chunk)

        await self.db.write(run)


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    """Key lists short enough for SQLite's bound-variable limit."""
    return [keys[i:i + size] for i in range(0, len(keys), size)]
