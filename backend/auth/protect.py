"""Fields that never leave the server (password hashes, key digests): out of every result, and so
out of every event, and out of reach of queries (no filtering, sorting or ``$distinct`` on them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from ..errors import BadRequest
from ..hooks import HookContext

Hook = Callable[[HookContext], Awaitable[None]]


def without(doc: Any, fields: Collection[str]) -> Any:
    """``doc`` without ``fields`` (anything but a dict is returned as is)."""
    return {k: v for k, v in doc.items() if k not in fields} if isinstance(doc, dict) else doc


def hide(fields: Collection[str]) -> Hook:
    """An after hook removing ``fields`` from a record, a list or a page of records."""

    async def hook(ctx: HookContext) -> None:
        result = ctx.result
        if isinstance(result, dict) and isinstance(result.get("data"), list) and "total" in result:
            ctx.result = {**result, "data": [without(d, fields) for d in result["data"]]}
        elif isinstance(result, list):
            ctx.result = [without(d, fields) for d in result]
        else:
            ctx.result = without(result, fields)

    return hook


def _mentions(query: Any, fields: Collection[str]) -> bool:
    """True when a query names one of ``fields``: as a key anywhere, or in ``$select``/``$distinct``."""
    if isinstance(query, list):
        return any(_mentions(v, fields) for v in query)
    if not isinstance(query, dict):
        return False
    for key, value in query.items():
        if _names(key, fields):
            return True
        if key in ("$select", "$distinct"):
            items = value if isinstance(value, list) else list(value) if isinstance(value, dict) else [value]
            if any(_names(item, fields) for item in items):
                return True
        elif _mentions(value, fields):
            return True
    return False


def _names(key: Any, fields: Collection[str]) -> bool:
    return isinstance(key, str) and key.split(".", 1)[0] in fields


def refuse_queries_on(fields: Collection[str]) -> Hook:
    """A before hook: a client query may not name ``fields`` (as a condition, sort, select...)."""

    async def hook(ctx: HookContext) -> None:
        if ctx.params.provider is not None and _mentions(ctx.params.query, fields):
            raise BadRequest(f"Queries on {', '.join(sorted(fields))} are not allowed")

    return hook
