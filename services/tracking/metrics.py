"""``metrics``: one point per ``(run, type, key, step)`` with ``epoch``, ``value`` and ``timestamp``.

* ``create`` takes one point or a list of up to ``[tracking] max_points``; an item may also be one
  log call, ``{run, type, step, epoch, timestamp, metrics: {key: value}}``, which stands for one
  point per key (what the ``em`` client sends). Points are checked against
  ``schemas/metrics.json`` (compiled once: a batch of thousands is checked in milliseconds). The
  type is normalised (``training`` → ``train``, ``validation`` → ``val``, ``eval`` → ``test``...),
  each point's id is made from its run, type, key and step (:func:`.series.point_id`), and a point
  that exists already is replaced when it differs and left alone when it does not: sending a batch twice (a client whose
  answer was lost) writes nothing twice. Each point's run must exist and be readable by the caller;
  a point another user wrote is theirs (403). The result is the points written.
* ``update``/``patch`` are refused to clients (points are written by ``create``); ``remove`` works.
* ``find`` is the history read: ``run``, ``type``, ``key`` and ``$sort[step]=1`` page through a
  series on its index; ``$downsample=<n>`` answers about ``n`` points of a series (LTTB plus the
  minimum and maximum; see :mod:`.history`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import fastjsonschema

from backend.app import App
from backend.channels import Channel, Publisher
from backend.errors import BadRequest, Conflict, FeathersError, Forbidden, MethodNotAllowed, PayloadTooLarge
from backend.hooks import HookContext, Params
from backend.query import IdIn, Query

from .config import TrackingSettings
from .history import downsample_hooks
from .series import SeriesIndex, point_id, series_id

#: Metric types and their canonical names (python_client.em.checks has the same table; a test
#: keeps the two equal).
TYPE_ALIASES = {
    "train": "train", "training": "train",
    "val": "val", "validate": "val", "validation": "val",
    "test": "test", "testing": "test", "eval": "test", "evaluate": "test", "evaluation": "test",
}
RUNS = "runs"
MAX_ERRORS = 20
_WRITTEN = "tracking_points_written"  # the points a create wrote, whole, for the history index
_WHOLE = "tracking_points_whole"  # id -> whole point, when the answer has fewer fields ($select)
ATTEMPTS = 5


def normalize_type(value: Any) -> Any:
    """The canonical name of a metric type (others as given)."""
    return TYPE_ALIASES.get(value, value) if isinstance(value, str) else value


def point_checker(schema: dict[str, Any]) -> Callable[[Any], None]:
    """A fast check of one point against the metrics schema (fastjsonschema compiles it)."""
    return fastjsonschema.compile({k: v for k, v in schema.items() if k != "$schema"})  # type: ignore[no-any-return]


def expand(items: list[Any]) -> list[Any]:
    """Items with one point per metric of each log-call item ``{..., metrics: {key: value}}``."""
    if not any(isinstance(i, dict) and "metrics" in i for i in items):
        return items
    out: list[Any] = []
    for item in items:
        if not (isinstance(item, dict) and "metrics" in item):
            out.append(item)
            continue
        metrics = item["metrics"]
        if not isinstance(metrics, dict) or not metrics:
            raise BadRequest("metrics must be an object of name: number", errors={"metrics": "not an object"})
        base = {k: v for k, v in item.items() if k != "metrics"}
        out.extend({**base, "key": key, "value": value} for key, value in metrics.items())
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(f) == b.get(f) for f in ("value", "epoch", "timestamp"))


async def store_points(ctx: HookContext, points: list[dict[str, Any]], owner: str | None) -> list[dict[str, Any]]:
    """Insert ``points``; those that exist already are replaced when they differ and left alone
    when they do not. Returns the points written.

    All new is the common case (one insert); a batch sent again, or one holding steps logged
    before, is compared with what is stored. Inserts are all or nothing, so a create racing
    another one of the same points compares again.
    """
    store = ctx.service.store
    try:
        await store._insert(points)
        return points
    except Conflict:
        pass
    ids = tuple(str(p["_id"]) for p in points)
    for attempt in range(ATTEMPTS):
        found = {str(r["_id"]): r for r in await store._find(Query(where=IdIn(ids)))}
        new, changed = [], []
        for item in points:
            old = found.get(str(item["_id"]))
            if old is None:
                new.append(item)
            elif not _same(old, item):
                if owner and ctx.params.provider is not None and old.get(owner) != item.get(owner) \
                        and ctx.params.user is not None and ctx.params.user.get("role") != "admin":
                    raise Forbidden(f"Point {item['key']}@{item['step']} of run {item['run']} is another user's")
                changed.append({**item, "createdAt": old.get("createdAt", item.get("createdAt"))})
        try:
            if new:
                await store._insert(new)
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
            continue  # another call wrote some of them meanwhile: compare again
        for item in changed:
            await store._replace(item["_id"], item)
        return new + changed
    return []


def whole_points(app: App) -> Publisher:
    """The publisher of ``metrics``: the app's, with each event carrying the whole point even when
    the caller asked for fewer fields in its answer (``$select[]=_id``)."""

    async def publish(record: Any, ctx: HookContext) -> list[Any]:
        whole = ctx.params.extra.get(_WHOLE, {}).get(str(record.get("_id")), record) if isinstance(record, dict) \
            else record
        base = app.publisher
        channels = base(whole, ctx) if base is not None else []
        if inspect.isawaitable(channels):
            channels = await channels
        return [Channel(c, whole) if isinstance(c, str) else c for c in channels or ()]

    return publish


def metric_hooks(app: App, settings: TrackingSettings, schema: dict[str, Any], index: SeriesIndex) -> dict[str, Any]:
    """The hook spec of ``metrics``."""
    check = point_checker(schema)

    def checked(ctx: HookContext) -> list[dict[str, Any]]:
        items = expand(ctx.data if isinstance(ctx.data, list) else [ctx.data])
        if len(items) > settings.max_points:
            raise PayloadTooLarge(f"At most {settings.max_points} points per create ([tracking] max_points), "
                                  f"got {len(items)}")
        errors: dict[str, str] = {}
        for i, item in enumerate(items):
            try:
                check(item)
            except fastjsonschema.JsonSchemaException as exc:
                where = ".".join(str(p) for p in (exc.path or [])[1:]) or "(root)"
                errors[f"{i}.{where}" if isinstance(ctx.data, list) else where] = exc.message
                if len(errors) >= MAX_ERRORS:
                    break
        if errors:
            raise BadRequest("Data does not match the schema", errors=errors)
        return items

    async def runs_allowed(ctx: HookContext, run_ids: set[str]) -> None:
        runs = app.services.get(RUNS)
        if runs is None:
            raise BadRequest("There is no runs service to log metrics to")
        for run_id in run_ids:
            if await runs.store._get_key(runs.store.key(run_id)) is None:
                raise BadRequest(f"No run '{run_id[:100]}' to log metrics to", errors={"run": "no such run"})
            if ctx.params.provider is not None and app.auth_enabled:
                try:
                    await runs.get(run_id, Params(provider=ctx.params.provider, user=ctx.params.user))
                except FeathersError:
                    raise Forbidden(f"You may not log metrics to run '{run_id}'") from None

    async def upsert(ctx: HookContext) -> None:
        items = checked(ctx)
        store = ctx.service.store
        owner = app.owner_field if app.auth_enabled else None
        by_id: dict[str, dict[str, Any]] = {}
        series: dict[tuple[str, str, str], str] = {}
        for item in items:
            kind = item["type"] = normalize_type(item["type"])
            named = (item["run"], kind, item["key"])
            sid = series.get(named) or series.setdefault(named, series_id(*named))
            item["_id"] = point_id(sid, item["step"])
            by_id[item["_id"]] = item  # the last of a step wins, as when sent one by one
        await runs_allowed(ctx, {p["run"] for p in by_id.values()})
        written = await store_points(ctx, list(by_id.values()), owner)
        ctx.params.extra[_WRITTEN] = written
        if "$select" in ctx.params.query:  # the em client asks for ids only; events carry whole points
            ctx.params.extra[_WHOLE] = {str(p["_id"]): p for p in written}
            written = store._select(written, store._parse(ctx.params).select)
        ctx.result = written if isinstance(ctx.data, list) else (written[0] if written else by_id.popitem()[1])

    async def indexed(ctx: HookContext) -> None:
        points = ctx.params.extra.pop(_WRITTEN, [])
        if points:
            await index.append(points)

    async def unindexed(ctx: HookContext) -> None:
        removed = ctx.result if isinstance(ctx.result, list) else [ctx.result]
        await index.forget({series_id(p["run"], p["type"], p["key"]) for p in removed
                            if isinstance(p, dict) and {"run", "type", "key"} <= set(p)})

    async def no_changes(ctx: HookContext) -> None:
        if ctx.params.provider is not None:
            raise MethodNotAllowed("Metric points are written with create (which replaces a point of the same "
                                   "run, type, key and step)")

    async def types(ctx: HookContext, next: Callable[[], Awaitable[None]]) -> None:
        """Metric types in the query normalised (around: before the permission rules join it)."""
        query = ctx.params.query
        value = query.get("type")
        if isinstance(value, str):
            query["type"] = normalize_type(value)
        elif isinstance(value, dict) and isinstance(value.get("$in"), list):
            value["$in"] = [normalize_type(v) for v in value["$in"]]
        await next()

    around, serve = downsample_hooks(app, settings, index, normalize_type)
    spec: dict[str, Any] = {
        "around": {"find": [types, around], "remove": [types]},
        "before": {"find": [serve], "create": [upsert], "update": [no_changes],
                   "patch": [no_changes]},
        "after": {"create": [indexed], "remove": [unindexed]},
    }
    return spec
