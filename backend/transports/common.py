"""What both transports share: JSON (de)serialisation limits and JavaScript falsiness."""

from __future__ import annotations

from typing import Any

import orjson

from ..errors import BadRequest

MAX_DATA_DEPTH = 64


def loads(raw: bytes | str) -> Any:
    """Parse a JSON body (400 BadRequest when it does not parse or nests too deeply)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Invalid JSON: {exc}") from None
    check_depth(data)
    return data


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def check_depth(data: Any, limit: int = MAX_DATA_DEPTH) -> None:
    """Refuse data nested deeper than ``limit`` (it would only exhaust stacks further down).

    A value at depth ``limit + 1`` or more (the top is depth 0) is too deep: a container at depth
    ``limit`` with anything in it is already one level too many. The walk goes level by level
    with one comprehension per level (C-speed), as bodies of numbers nest many small lists (a
    28x28 image is 800 of them).
    """
    if type(data) is not list and type(data) is not dict:
        return
    level: list[Any] = [data]
    depth = 0
    while level:
        if depth >= limit and any(level):  # a non-empty container at the limit
            raise BadRequest(f"Data is nested deeper than {limit} levels")
        level = [child for value in level for child in (value.values() if type(value) is dict else value)
                 if type(child) is list or type(child) is dict]
        depth += 1


def js_falsy(value: Any) -> bool:
    """JavaScript falsiness (``[]`` and ``{}`` are truthy there), which decides REST's 204."""
    return value is None or value is False or value == "" or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)
