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

    A value at depth ``limit + 1`` or more (the top is depth 0) is too deep. Only containers are
    stacked: a container at depth ``limit`` with anything in it is already one level too many.
    """
    if not isinstance(data, (dict, list)):
        return
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth >= limit and (depth > limit or children):
            raise BadRequest(f"Data is nested deeper than {limit} levels")
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def js_falsy(value: Any) -> bool:
    """JavaScript falsiness (``[]`` and ``{}`` are truthy there), which decides REST's 204."""
    return value is None or value is False or value == "" or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)
