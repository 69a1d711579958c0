"""Queries: REST query-string parsing, the allow-list, value coercion and a typed condition tree.

Adapters never see a raw client query. :func:`parse` turns one into a :class:`Query` whose
``where`` is a small tree (:class:`Cmp`, :class:`Not`, :class:`And`, :class:`Or`) with validated
field paths, so each adapter only translates a closed grammar (SQL, Python, MongoDB).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import qs_codec
from qs_codec import DecodeOptions

from .errors import BadRequest

FILTERS = frozenset({"$limit", "$skip", "$sort", "$select", "$or", "$and", "$distinct"})
OPERATOR_LIST = ("$in", "$nin", "$lt", "$lte", "$gt", "$gte", "$ne", "$not")
OPERATORS = frozenset(OPERATOR_LIST)
#: Operator names without their ``$`` (``age[gt]=30``): a sub-document key that is one is a mistake.
BARE_OPERATORS = frozenset(op[1:] for op in OPERATOR_LIST)
RANGE_OPS = frozenset({"$lt", "$lte", "$gt", "$gte"})
MAX_DEPTH = 8  # nesting of $or/$and/$not and sub-documents in a JSON (socket.io) query
MAX_CONDITIONS = 500
MAX_IN_VALUES = 1000
MAX_PARAMETERS = 1000
# Databases hold 64-bit integers (SQLite, BSON): a larger query integer is matched as the double it
# reads as in JavaScript, and a larger $limit/$skip means "as many as there can be".
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Lists past 20 indices become objects, as in Node's qs (not an error); too many parameters is
# counted before decoding so that it is a 400 and never a silent truncation.
_QS_OPTIONS = DecodeOptions(depth=5, strict_depth=True, list_limit=20, parameter_limit=MAX_PARAMETERS + 1)
# What no label of a field path may hold: quotes and backslashes (paths are quoted in SQL/JSON path
# text), control characters, and lone surrogates (no UTF-8 encoding, so no SQLite text).
_BAD_FIELD = re.compile(r'["\\\x00-\x1f\x7f\ud800-\udfff]')
MAX_LABEL = 256  # characters in one label of a field path
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


# ---------------------------------------------------------------- the condition tree
@dataclass(frozen=True)
class Cmp:
    """``path op value``; op is one of $eq $ne $in $nin $lt $lte $gt $gte ($in/$nin take a list)."""

    path: tuple[str, ...]
    op: str
    value: Any


@dataclass(frozen=True)
class Not:
    cond: Cond


@dataclass(frozen=True)
class And:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Cond, ...]


Cond = "Cmp | Not | And | Or | IdIn"
TRUE = And(())


@dataclass
class ByteBudget:
    """How many bytes of stored records one read may load (``max_response``): an adapter admits
    each row it reads and stops at the first refused one. The first row is always admitted, so
    that a page is never empty while records remain. ``per_row`` is added to each row's size
    (what a multi patch adds to each record it answers)."""

    limit: int
    per_row: int = 0
    used: int = 0
    rows: int = 0
    truncated: bool = False  # a row was refused: the read stopped short of what the query asked

    def reset(self) -> None:
        """Start over (a read that is run again, e.g. moved off the event loop)."""
        self.used = self.rows = 0
        self.truncated = False

    def admit(self, size: int) -> bool:
        """Count a row of ``size`` bytes; False when it would take the read past the limit."""
        size += self.per_row
        if self.rows and self.used + size > self.limit:
            self.truncated = True
            return False
        self.used += size
        self.rows += 1
        return True


@dataclass
class Query:
    """A sanitised query. ``limit`` is None when unlimited; ``budget`` bounds the bytes read."""

    where: Cond = TRUE
    sort: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    limit: int | None = None
    skip: int = 0
    select: list[str] | None = None
    distinct: tuple[str, ...] | None = None
    budget: ByteBudget | None = None


# ---------------------------------------------------------------- query strings
def parse_query_string(raw: str) -> dict[str, Any]:
    """Parse a REST query string like Node's ``qs`` (encoded or unencoded brackets)."""
    if not raw:
        return {}
    if raw.count("&") >= MAX_PARAMETERS:
        raise BadRequest(f"Query string has more than {MAX_PARAMETERS} parameters")
    if "%" not in raw and "+" not in raw and "[" not in raw and "]" not in raw:
        flat = _flat_pairs(raw)
        if flat is not None:
            return flat
    try:
        parsed = qs_codec.decode(raw, _QS_OPTIONS)
    except (IndexError, ValueError, RecursionError) as exc:
        raise BadRequest(f"Invalid query string: {exc}") from None
    return dict(parsed)


def _flat_pairs(raw: str) -> dict[str, Any] | None:
    """``a=1&b=2`` with nothing to decode or nest (no ``%``, ``+`` or brackets), as ``qs`` reads it;
    None when a key repeats (``qs`` makes a list of it). The commonest REST query, at a fraction of
    the cost of the full decoder (a test checks both agree)."""
    out: dict[str, Any] = {}
    for part in raw.split("&"):
        key, _, value = part.partition("=")
        if not key:
            continue  # "&&" and "=x" add nothing, in qs too
        if key in out:
            return None
        out[key] = value
    return out


# ---------------------------------------------------------------- coercion
def _text_candidates(value: str) -> list[Any]:
    """A REST string and the typed values it may stand for on a schemaless service."""
    out: list[Any] = [value]
    if _NUMBER.fullmatch(value):
        num = float(value)
        if math.isfinite(num):
            out.append(_fit(int(value)) if num.is_integer() and "." not in value and "e" not in value.lower() else num)
    elif value in ("true", "false"):
        out.append(value == "true")
    elif value == "null":
        out.append(None)
    return out


def _schema_type(schema: Mapping[str, Any] | None, path: tuple[str, ...]) -> str | None:
    node: Any = schema
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = (node.get("properties") or {}).get(part)
    if not isinstance(node, Mapping):
        return None
    t = node.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t if isinstance(t, str) else None


def _coerce_typed(value: str, kind: str, path: tuple[str, ...]) -> Any:
    try:
        if value == "null":
            return None
        if kind == "integer":
            return _fit(int(value))
        if kind == "number":
            num = float(value)
            if not math.isfinite(num):
                raise ValueError(value)
            return _fit(int(num)) if num.is_integer() else num
        if kind == "boolean":
            if value in ("true", "false"):
                return value == "true"
            raise ValueError(value)
    except ValueError:
        raise BadRequest(f"Invalid value for '{'.'.join(path)}': expected {kind}",
                         errors={".".join(path): f"expected {kind}"}) from None
    return value


class _Builder:
    """Turns a client query dict into the condition tree (one instance per parse)."""

    def __init__(self, text: bool, schema: Mapping[str, Any] | None) -> None:
        self.text = text
        self.schema = schema
        self.count = 0

    def values(self, path: tuple[str, ...], value: Any) -> list[Any]:
        """All values ``value`` may match (several for schemaless REST text)."""
        if not self.text or not isinstance(value, str):
            return [value]
        kind = _schema_type(self.schema, path)
        if kind in ("integer", "number", "boolean"):
            return [_coerce_typed(value, kind, path)]
        if kind == "string":
            return [value]
        return _text_candidates(value)

    def cmp(self, path: tuple[str, ...], op: str, value: Any) -> Cond:
        self.count += 1
        if self.count > MAX_CONDITIONS:
            raise BadRequest("Query has too many conditions")
        if op in ("$in", "$nin"):
            if isinstance(value, dict) and all(str(k).isdigit() for k in value):
                # qs turns arrays past 20 indices into objects keyed by index: read them back as lists.
                value = [value[k] for k in sorted(value, key=lambda k: int(k))]
            items = value if isinstance(value, list) else [value] if not isinstance(value, dict) else None
            if items is None:
                raise BadRequest(f"'{op}' needs a list")
            if len(items) > MAX_IN_VALUES:
                raise BadRequest(f"'{op}' takes at most {MAX_IN_VALUES} values")
            flat = [v for item in items for v in self.values(path, _scalar(item, path))]
            return Cmp(path, op, flat)
        value = _scalar(value, path)
        options = self.values(path, value)
        if op in RANGE_OPS:
            typed = [v for v in options if not isinstance(v, (str, bool)) and v is not None]
            return Cmp(path, op, typed[0] if typed else options[0])
        if len(options) == 1:
            return Cmp(path, op, options[0])
        return Cmp(path, "$in" if op == "$eq" else "$nin", options)

    def field(self, path: tuple[str, ...], value: Any, depth: int) -> Cond:
        if depth > MAX_DEPTH:
            raise BadRequest("Query is nested too deeply")
        if not isinstance(value, dict):
            return self.cmp(path, "$eq", value)
        if not value:
            raise BadRequest(f"Empty condition for '{'.'.join(path)}'")
        keys = list(value)
        if all(isinstance(k, str) and k.startswith("$") for k in keys):
            items: list[Cond] = []
            for op, operand in value.items():
                if op == "$not":
                    items.append(Not(self.field(path, operand, depth + 1)))
                elif op in OPERATORS:
                    items.append(self.cmp(path, op, operand))
                else:
                    raise BadRequest(f"Invalid query parameter {op}")
            return items[0] if len(items) == 1 else And(tuple(items))
        bare = next((k for k in keys if k in BARE_OPERATORS), None)
        if bare is not None:
            raise _bare_operator(path, bare)
        if any(isinstance(k, str) and k.startswith("$") for k in keys):
            raise BadRequest(f"Cannot mix operators and fields under '{'.'.join(path)}'")
        # A plain sub-document ({a: {b: 1}}, as qs makes from a[b]=1) means the dotted paths.
        return And(tuple(self.field((*path, *split_path(str(k))), v, depth + 1) for k, v in value.items()))

    def where(self, query: Mapping[str, Any], depth: int = 0) -> Cond:
        if depth > MAX_DEPTH:
            raise BadRequest("Query is nested too deeply")
        items: list[Cond] = []
        for key, value in query.items():
            key = str(key)
            if key in ("$or", "$and"):
                subs = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else None
                if not subs or not all(isinstance(s, dict) for s in subs):
                    raise BadRequest(f"'{key}' needs a non-empty list of queries")
                tree = tuple(self.where(s, depth + 1) for s in subs)
                items.append(Or(tree) if key == "$or" else And(tree))
            elif key.startswith("$"):
                raise BadRequest(f"Invalid query parameter {key}")
            else:
                items.append(self.field(split_path(key), value, depth + 1))
        return items[0] if len(items) == 1 else And(tuple(items))


def _bare_operator(path: tuple[str, ...], name: str) -> BadRequest:
    """The error of ``age[gt]=30`` (``{"age": {"gt": 30}}``): an operator without its ``$``.

    Such a key would otherwise match a sub-field ``gt`` that no record has, and answer nothing
    without a word; the dotted name (``age.gt``) still matches a sub-field of that name."""
    field = ".".join(path)
    return BadRequest(f"'{field}[{name}]' is not a query operator: operators start with $, as in {field}[${name}] "
                      f"(allowed: {', '.join(OPERATOR_LIST)}); to match a field '{name}' inside '{field}', "
                      f"write {field}.{name}", errors={field: f"unknown operator '{name}' (did you mean '${name}'?)"})


def _fit(value: int) -> int | float:
    """An integer as the databases can bind it: beyond 64 bits, the double it stands for."""
    return value if INT64_MIN <= value <= INT64_MAX else float(value)


def _scalar(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, (dict, list)):
        raise BadRequest(f"Invalid value for '{'.'.join(path)}'")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"Invalid number for '{'.'.join(path)}'")
    if isinstance(value, int) and not isinstance(value, bool):
        return _fit(value)
    return value


def safe_label(part: str) -> bool:
    """True when ``part`` may be one label of a field path (quoted as is in SQL and JSON paths)."""
    return 0 < len(part) <= MAX_LABEL and _BAD_FIELD.search(part) is None


def split_path(key: str) -> tuple[str, ...]:
    """A dotted field name as a validated path (``a.b`` → ``("a", "b")``)."""
    parts = tuple(key.split("."))
    for part in parts:
        if part.startswith("$") or not safe_label(part):
            raise BadRequest(f"Invalid field name '{key[:100]}'")
    return parts


def _int(name: str, value: Any, minimum: int = 0) -> int:
    try:
        out = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        out = None
    if out is None or out < minimum:
        raise BadRequest(f"'{name}' must be an integer >= {minimum}")
    return min(out, INT64_MAX)  # no store holds more records than that: a larger $limit/$skip means as much


def _sort(value: Any) -> list[tuple[tuple[str, ...], int]]:
    if not isinstance(value, dict):
        raise BadRequest("'$sort' must be an object of field: 1|-1")
    out = []
    for key, direction in value.items():
        d = {"1": 1, "-1": -1, "asc": 1, "desc": -1, "ascending": 1, "descending": -1}.get(str(direction).lower())
        if d is None:
            raise BadRequest(f"Invalid sort direction for '{key}'")
        out.append((split_path(str(key)), d))
    return out


def _select(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, dict):
        value = [k for k, v in value.items() if str(v) not in ("0", "false")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("'$select' must be a list of field names")
    for name in value:
        split_path(name)
    return value


def parse(
    raw: Mapping[str, Any] | None,
    *,
    text: bool = False,
    schema: Mapping[str, Any] | None = None,
    default_limit: int | None = None,
    max_limit: int | None = None,
) -> Query:
    """Sanitise a client query into a :class:`Query` (400 BadRequest on anything not allowed).

    ``text`` marks REST queries, whose values are all strings: they are coerced through the
    service's JSON Schema where it has one, else matched as the string or the value it reads as.
    """
    raw = dict(raw or {})
    q = Query()
    if "$limit" in raw:
        q.limit = _int("$limit", raw.pop("$limit"))
    else:
        q.limit = default_limit
    if max_limit is not None and (q.limit is None or q.limit > max_limit):
        q.limit = max_limit
    if "$skip" in raw:
        q.skip = _int("$skip", raw.pop("$skip"))
    if "$sort" in raw:
        q.sort = _sort(raw.pop("$sort"))
    if "$select" in raw:
        q.select = _select(raw.pop("$select"))
    if "$distinct" in raw:
        d = raw.pop("$distinct")
        if not isinstance(d, str):
            raise BadRequest("'$distinct' must be a field name")
        q.distinct = split_path(d)
    q.where = _Builder(text, schema).where(raw)
    return q


def where_for(query: Mapping[str, Any] | None, *, text: bool = False,
              schema: Mapping[str, Any] | None = None) -> Cond:
    """Only the conditions of a query (filters such as $limit/$sort are rejected)."""
    raw = dict(query or {})
    for key in ("$limit", "$skip", "$sort", "$select"):
        raw.pop(key, None)
    return parse(raw, text=text, schema=schema).where


@dataclass(frozen=True)
class IdIn:
    """The record ids (as strings) a call addresses: adapters map this to their primary key."""

    keys: tuple[str, ...]


def conjoin(*conds: Cond | IdIn) -> Cond:
    """``And`` of the non-trivial conditions (an empty ``And`` is always true)."""
    items = tuple(c for c in conds if type(c) is not And or c.items)  # cheaper than dataclass equality
    return items[0] if len(items) == 1 else And(items)  # type: ignore[return-value]
