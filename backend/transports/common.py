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
    """Refuse data nested deeper than ``limit`` (it would only exhaust stacks further down)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise BadRequest(f"Data is nested deeper than {limit} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def js_falsy(value: Any) -> bool:
    """JavaScript falsiness (``[]`` and ``{}`` are truthy there), which decides REST's 204."""
    return value is None or value is False or value == "" or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)
