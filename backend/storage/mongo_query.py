"""The condition tree of :mod:`backend.query` as a MongoDB filter, with the matcher's semantics.

MongoDB already brackets types (``3`` never equals ``"3"``, ``True`` never equals ``1``, ``$eq
null`` matches a missing field, ``$ne``/``$nin`` match missing fields), but it also looks *into*
arrays: ``{tags: "a"}`` matches ``tags: ["a", "b"]`` and ``{"a.b": 1}`` matches ``a: [{b: 1}]``.
The reference (:mod:`backend.storage.matcher`, and SQLite) compares whole values and reads a path
through an array as missing, so each comparison carries guards that rule array traversal out.
Query values are always scalars (``$in``/``$nin`` take lists of scalars): the parser ensures it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bson import ObjectId

from ..query import And, Cmp, Cond, IdIn, Not, Or

HEX24 = re.compile(r"[0-9a-f]{24}")
NOTHING: dict[str, Any] = {"_id": {"$in": []}}  # a filter no document matches
_IS_ARRAY = {"$type": "array"}
_NOT_ARRAY = {"$not": {"$type": "array"}}
_RANGE = ("$lt", "$lte", "$gt", "$gte")


def oid_or_str(value: Any) -> Any:
    """A 24-hex string as the ObjectId it names; anything else unchanged."""
    return ObjectId(value) if isinstance(value, str) and HEX24.fullmatch(value) else value


def id_values(values: Iterable[Any]) -> list[Any]:
    """Query values for ``_id``: a 24-hex string matches its ObjectId and the plain string."""
    out: list[Any] = []
    for v in values:
        out.append(v)
        if isinstance(v, str) and HEX24.fullmatch(v):
            out.append(ObjectId(v))
    return out


def _on_missing(op: str, value: Any) -> bool:
    """What the reference answers for a field that is missing (read as None)."""
    if op == "$eq":
        return value is None
    if op == "$ne":
        return value is not None
    if op == "$in":
        return None in value
    if op == "$nin":
        return None not in value
    return False  # ranges never match a missing value


def _terminal(field: str, op: str, value: Any) -> dict[str, Any]:
    """``field op value`` when no prefix of ``field`` is an array: whole-value semantics."""
    if op in _RANGE:
        # Ranges compare numbers with numbers and strings with strings only (not null, not bools).
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return NOTHING
        return {field: {op: value, **_NOT_ARRAY}}
    if op == "$eq":
        return {field: {"$eq": value, **_NOT_ARRAY}}
    if op == "$in":
        return {field: {"$in": list(value), **_NOT_ARRAY}}
    # $ne / $nin: an array is never equal to a scalar, so arrays always match.
    return {"$or": [{field: {op: list(value) if op == "$nin" else value}}, {field: _IS_ARRAY}]}


class MongoFilter:
    """Translator for one collection: knows its id field (``_id`` stored as ObjectId, or custom)."""

    def __init__(self, id_field: str) -> None:
        self.id_field = id_field
        self.native_id = id_field == "_id"

    def ids(self, keys: Iterable[str]) -> dict[str, Any]:
        """The records whose id has one of the string forms ``keys``."""
        keys = list(keys)
        if self.native_id:
            return {"_id": {"$in": [oid_or_str(k) for k in keys]}}
        # A custom id may be stored as a number: its key is then its decimal string.
        values: list[Any] = list(keys)
        values += [int(k) for k in keys if k.lstrip("-").isdigit() and len(k) < 19]
        return {self.id_field: {"$in": values}}

    def __call__(self, cond: Cond) -> dict[str, Any]:
        """The MongoDB filter of ``cond``."""
        if isinstance(cond, And):
            return {"$and": [self(c) for c in cond.items]} if cond.items else {}
        if isinstance(cond, Or):
            return {"$or": [self(c) for c in cond.items]} if cond.items else NOTHING
        if isinstance(cond, Not):
            return {"$nor": [self(cond.cond)]}
        if isinstance(cond, IdIn):
            return self.ids(cond.keys)
        assert isinstance(cond, Cmp)
        return self.cmp(cond)

    def cmp(self, cond: Cmp) -> dict[str, Any]:
        field, op, value = ".".join(cond.path), cond.op, cond.value
        if cond.path == ("_id",) and self.native_id:
            # Stored ids are ObjectIds (never arrays); a string id may also be stored as a string.
            if op in ("$in", "$nin"):
                return {"_id": {op: id_values(value)}}
            if op in ("$eq", "$ne") and isinstance(value, str) and HEX24.fullmatch(value):
                return {"_id": {"$in" if op == "$eq" else "$nin": id_values([value])}}
            if op in _RANGE and isinstance(value, str) and HEX24.fullmatch(value):
                # ObjectIds order as their hex strings: `_id > lastId` pages as on SQLite.
                return {"$or": [{"_id": {op: ObjectId(value)}}, {"_id": {op: value}}]}
        plain = _terminal(field, op, value)
        prefixes = [".".join(cond.path[:i]) for i in range(1, len(cond.path))]
        if not prefixes:
            return plain
        # The reference reads a path through anything but sub-documents (arrays included) as
        # missing: take the plain comparison only when every prefix is a sub-document.
        objects = {"$and": [{p: {"$type": "object", **_NOT_ARRAY}} for p in prefixes]}
        through_objects = {"$and": [*objects["$and"], plain]}
        if not _on_missing(op, value):
            return through_objects
        return {"$or": [through_objects, {"$nor": [objects]}]}
