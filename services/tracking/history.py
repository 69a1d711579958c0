"""The downsampled history read: ``GET /metrics?run=<id>&type=train&key=loss&$downsample=1000``.

``$downsample=<n>`` is not a query filter of the core (which answers 400 for unknown ``$`` keys),
so an around hook takes it out of the query before the permission hooks see it, and a before hook
(after them) answers with at most ``n`` points of the series, read from the history index
(:mod:`.series`): ``{total, limit, skip: 0, data, downsampled}``, ``total`` being the number of
points in the series (or in the ``step`` window the query asks for: ``step[$gte]=1000``).

The query names one series (``run``, ``type`` and ``key``, each a string) and may bound
``step``; anything else is a 400. When the caller may read only part of the series (permission
rules), the points it may read are read from the ``metrics`` service instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from backend.app import App
from backend.errors import BadRequest
from backend.hooks import HookContext, Params
from backend.query import FILTERS, where_for

from .config import TrackingSettings
from .downsample import MIN_POINTS, keep
from .series import History, SeriesIndex, series_id

KEY = "$downsample"
_STASH = "tracking_downsample"
_BOUNDS = ("$gt", "$gte", "$lt", "$lte")


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"{what} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{what} must be an integer, got {str(value)[:50]!r}") from None


def _window(step: Any) -> tuple[int | None, int | None]:
    """``(low, high)`` inclusive bounds of a ``step`` condition (a value or a range)."""
    if step is None:
        return None, None
    if not isinstance(step, dict):
        value = _integer(step, "step")
        return value, value
    unknown = set(step) - set(_BOUNDS)
    if unknown:
        raise BadRequest(f"With {KEY}, step takes only {', '.join(_BOUNDS)}")
    low = high = None
    for op, raw in step.items():
        value = _integer(raw, f"step[{op}]")
        if op in ("$gt", "$gte"):
            bound = value + 1 if op == "$gt" else value
            low = bound if low is None else max(low, bound)
        else:
            bound = value - 1 if op == "$lt" else value
            high = bound if high is None else min(high, bound)
    return low, high


def downsample_hooks(app: App, settings: TrackingSettings, index: SeriesIndex,
                     normalize: Callable[[Any], Any]) -> tuple[Callable[..., Awaitable[None]],
                                                               Callable[[HookContext], Awaitable[None]]]:
    """``(around hook taking $downsample out, before hook answering it)`` of ``metrics`` find."""

    async def take(ctx: HookContext, next: Callable[[], Awaitable[None]]) -> None:
        query = ctx.params.query
        if KEY in query:
            n = _integer(query.pop(KEY), KEY)
            if not MIN_POINTS <= n <= settings.max_downsample:
                raise BadRequest(f"{KEY} must be between {MIN_POINTS} and {settings.max_downsample} "
                                 "([tracking] max_downsample)")
            conditions = {k: v for k, v in query.items() if k not in FILTERS}
            unknown = set(conditions) - {"run", "type", "key", "step"}
            missing = [f for f in ("run", "type", "key") if not isinstance(conditions.get(f), str)]
            if unknown or missing:
                raise BadRequest(f"{KEY} reads one series: give run, type and key (and maybe a step range), "
                                 f"nothing else", errors={f: "required" for f in missing} | {
                                     f: "not allowed with $downsample" for f in unknown})
            conditions["type"] = normalize(conditions["type"])
            query["type"] = conditions["type"]
            ctx.params.extra[_STASH] = (n, conditions, _window(conditions.get("step")))
        await next()

    async def serve(ctx: HookContext) -> None:
        stash = ctx.params.extra.pop(_STASH, None)
        if stash is None:
            return
        n, conditions, (low, high) = stash
        store, p = ctx.service.store, ctx.params
        run, kind, key = conditions["run"], conditions["type"], conditions["key"]
        history: History | None = None
        restricted = {k: v for k, v in p.query.items() if k not in FILTERS or k in ("$and", "$or")}
        if app.auth_enabled and p.provider is not None and restricted != conditions:
            # Permission rules joined the query: serve from the index only if they keep every point.
            allowed = await store._count(where_for(restricted, text=p.query_is_text, schema=store.options.schema))
            everything = await store._count(where_for(conditions, text=p.query_is_text, schema=store.options.schema))
            if allowed != everything:
                points = await store.find(Params(query=restricted, query_is_text=p.query_is_text,
                                                 extra={"paginate": False}))
                history = History.of_points(points)
        if history is None:
            series = {"run": run, "type": kind, "key": key}
            total = await store._count(where_for(series))
            history, held = await index.history(series_id(run, kind, key))
            if len(history) != total or held < total:
                points = await store.find(Params(query=series, extra={"paginate": False}))
                history = await index.rebuild(series_id(run, kind, key), points)
            history = history.window(low, high)
        chosen = keep(history.steps, history.values, n)
        ctx.result = {"total": len(history), "limit": n, "skip": 0, "data": history.points(chosen, run, kind, key),
                      "downsampled": len(chosen) < len(history)}

    return take, serve
