"""Evaluate the condition tree and sort orders on plain Python records (memory adapter, tests).

Comparison rules match the SQL and MongoDB translations: values of different kinds never compare
(``3`` is not ``"3"``, ``True`` is not ``1``); a missing field equals ``None``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..query import And, Cmp, Cond, IdIn, Not, Or

MISSING: Any = object()


def get_path(record: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(record, dict) or part not in record:
            return MISSING
        record = record[part]
    return record


def kind(value: Any) -> int:
    """Sort rank of a value's type (null < numbers < strings < objects < arrays < booleans)."""
    if value is MISSING or value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, dict):
        return 3
    return 4


def _eq(a: Any, b: Any) -> bool:
    if b is None:
        return a is MISSING or a is None
    return a is not MISSING and kind(a) == kind(b) and a == b


_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}


def matches(record: dict[str, Any], cond: Cond, id_field: str) -> bool:
    """True when ``record`` satisfies ``cond``."""
    if isinstance(cond, And):
        return all(matches(record, c, id_field) for c in cond.items)
    if isinstance(cond, Or):
        return any(matches(record, c, id_field) for c in cond.items)
    if isinstance(cond, Not):
        return not matches(record, cond.cond, id_field)
    if isinstance(cond, IdIn):
        return str(record.get(id_field)) in cond.keys
    assert isinstance(cond, Cmp)
    value = get_path(record, cond.path)
    if cond.op == "$eq":
        return _eq(value, cond.value)
    if cond.op == "$ne":
        return not _eq(value, cond.value)
    if cond.op == "$in":
        return any(_eq(value, v) for v in cond.value)
    if cond.op == "$nin":
        return not any(_eq(value, v) for v in cond.value)
    if value is MISSING or value is None or cond.value is None or kind(value) != kind(cond.value):
        return False
    if kind(value) not in (1, 2):
        return False
    return _RANGE[cond.op](value, cond.value)


def _compare(a: Any, b: Any) -> int:
    ka, kb = kind(a), kind(b)
    if ka != kb:
        return -1 if ka < kb else 1
    if ka == 0:
        return 0
    try:
        return -1 if a < b else (1 if a > b else 0)
    except TypeError:
        return 0


def sort_records(records: list[dict[str, Any]], sort: list[tuple[tuple[str, ...], int]]) -> list[dict[str, Any]]:
    """Sort by several ``(path, 1|-1)`` keys, in order of importance."""

    def cmp(x: dict[str, Any], y: dict[str, Any]) -> int:
        for path, direction in sort:
            c = _compare(get_path(x, path), get_path(y, path))
            if c:
                return c * direction
        return 0

    return sorted(records, key=functools.cmp_to_key(cmp)) if sort else records
