"""Translate the condition tree of :mod:`backend.query` into SQLite SQL over JSON documents.

Field paths become literal JSON paths (``'$."a"."b"'``) so that expression indexes created with
the same text are used by the planner. That is safe because :func:`backend.query.safe_label`
refuses names holding ``"``, ``\\`` or control characters, and quotes are doubled for SQL. Values
are always bound parameters. Type guards keep comparisons within one kind, as in MongoDB.
"""

from __future__ import annotations

from typing import Any

from ..query import And, Cmp, Cond, IdIn, Not, Or

NUMERIC = "IN ('integer','real')"
_RANGE_TEST = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}


def json_path(path: tuple[str, ...]) -> str:
    """The SQL string literal of a JSON path."""
    inner = "$." + ".".join('"' + part + '"' for part in path)
    return "'" + inner.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqlBuilder:
    """Builds ``WHERE``/``ORDER BY`` text and its parameters for one table."""

    def __init__(self, id_field: str) -> None:
        self.id_field = id_field
        self.params: list[Any] = []

    def value_expr(self, path: tuple[str, ...]) -> str:
        if path == (self.id_field,):
            return "id"
        return f"json_extract(doc, {json_path(path)})"

    def type_expr(self, path: tuple[str, ...]) -> str:
        return f"json_type(doc, {json_path(path)})"

    def _bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def _eq(self, path: tuple[str, ...], values: list[Any]) -> str:
        """``path`` equals one of ``values`` (a value of another kind never matches)."""
        x, t = self.value_expr(path), self.type_expr(path)
        if path == (self.id_field,):
            keys = [str(v) for v in values if v is not None and not isinstance(v, bool)]
            parts = [f"id IN ({','.join(self._bind(k) for k in keys)})"] if keys else []
            return "(" + " OR ".join(parts) + ")" if parts else "0"
        parts = []
        strings = [v for v in values if isinstance(v, str)]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        bools = sorted({"true" if v else "false" for v in values if isinstance(v, bool)})
        # Type guards make SQLite read the row even when an index answers, so add them only where a
        # value of another kind could compare equal: an object/array's JSON text equal to a string
        # starting with "{"/"[", and JSON true/false (stored as 1/0) equal to the numbers 1/0.
        plain_s = [v for v in strings if not v.startswith(("{", "["))]
        odd_s = [v for v in strings if v.startswith(("{", "["))]
        plain_n = [v for v in numbers if v not in (0, 1)]
        odd_n = [v for v in numbers if v in (0, 1)]
        if plain_s:
            parts.append(f"{x} IN ({','.join(self._bind(v) for v in plain_s)})")
        if odd_s:
            parts.append(f"({x} IN ({','.join(self._bind(v) for v in odd_s)}) AND {t} = 'text')")
        if plain_n:
            parts.append(f"{x} IN ({','.join(self._bind(v) for v in plain_n)})")
        if odd_n:
            parts.append(f"({x} IN ({','.join(self._bind(v) for v in odd_n)}) AND {t} {NUMERIC})")
        if bools:
            parts.append(f"{t} IN ({','.join(repr(b) for b in bools)})")
        if any(v is None for v in values):
            parts.append(f"{x} IS NULL")
        return "(" + " OR ".join(parts) + ")" if parts else "0"

    def _range(self, cmp: Cmp) -> str:
        op = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}[cmp.op]
        v = cmp.value
        x, t = self.value_expr(cmp.path), self.type_expr(cmp.path)
        if isinstance(v, bool) or v is None:
            return "0"
        if cmp.path == (self.id_field,):
            return f"(id {op} {self._bind(str(v))})"
        if isinstance(v, str):
            # Text sorts after every number in SQLite: ">= ''" drops numbers and stays on the index.
            return f"({x} {op} {self._bind(v)} AND {x} >= '' AND {t} = 'text')"
        # Numbers sort before every text: "< ''" drops text and stays on the index; booleans
        # (stored as 1/0) need the type guard only when the range reaches 0 or 1.
        sql = f"{x} {op} {self._bind(v)} AND {x} < ''"
        if any(_RANGE_TEST[cmp.op](b, v) for b in (0, 1)):
            sql += f" AND {t} {NUMERIC}"
        return f"({sql})"

    def where(self, cond: Cond) -> str:
        """SQL for ``cond`` (parameters accumulate in ``self.params``)."""
        if isinstance(cond, And):
            return "(" + " AND ".join(self.where(c) for c in cond.items) + ")" if cond.items else "1"
        if isinstance(cond, Or):
            return "(" + " OR ".join(self.where(c) for c in cond.items) + ")" if cond.items else "0"
        if isinstance(cond, Not):
            return f"(NOT COALESCE({self.where(cond.cond)}, 0))"
        if isinstance(cond, IdIn):
            return f"(id IN ({','.join(self._bind(k) for k in cond.keys)}))" if cond.keys else "0"
        assert isinstance(cond, Cmp)
        if cond.op == "$eq":
            return self._eq(cond.path, [cond.value])
        if cond.op == "$in":
            return self._eq(cond.path, list(cond.value))
        if cond.op == "$ne":
            return f"(NOT COALESCE({self._eq(cond.path, [cond.value])}, 0))"
        if cond.op == "$nin":
            return f"(NOT COALESCE({self._eq(cond.path, list(cond.value))}, 0))"
        return self._range(cond)

    def order_by(self, sort: list[tuple[tuple[str, ...], int]]) -> str:
        terms = [f"{self.value_expr(p)} {'DESC' if d < 0 else 'ASC'}" for p, d in sort]
        return "ORDER BY " + ", ".join([*terms, "rowid"])


def index_sql(table: str, name: str, spec: list[tuple[tuple[str, ...], int]], id_field: str) -> str:
    """``CREATE INDEX`` for fields as the query builder writes them, so the planner can use it."""
    b = SqlBuilder(id_field)
    cols = ", ".join(f"{b.value_expr(p)} {'DESC' if d < 0 else 'ASC'}" for p, d in spec)
    return f"CREATE INDEX IF NOT EXISTS {quote_ident(name)} ON {quote_ident(table)} ({cols})"
