"""``metric-series``: one record per metric series of a run, with its last point, kept live.

A dashboard must know which curves a run has (the keys of its run page, the last metrics of the
runs table) without reading its points: finding the distinct ``(type, key)`` of a run through
``metrics`` scans every point of the run (seconds for a million points). So each ``metrics``
create also updates, after its events are out, one record per series it wrote::

    {_id, run, type, key, step, epoch, value, timestamp}      # the point with the highest step

Clients only read it (writes answer 405); its ``created``/``patched`` events tell the dashboard
of a new curve or a new last value. Points removed from ``metrics`` move their series' last point
back (or remove the record when none is left). With authentication on, a record carries its run's owner
field and ``public`` flag (kept in step when the run's change), so the permission rules that
decide who reads a run decide who reads its series. Removing a run removes its series. A run
whose points were written before this service existed is summarised on its first read by run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from backend.app import App, ServiceHandle
from backend.errors import Conflict, MethodNotAllowed, NotFound
from backend.hooks import HookContext, Params
from backend.plugins import use_stored
from backend.query import And, Cmp, Query
from services.tracking.metrics import expand, normalize_type
from services.tracking.paths import record_id

log = logging.getLogger(__name__)
PATH = "metric-series"
RUNS = "runs"
METRICS = "metrics"
LAST_FIELDS = ("step", "epoch", "value", "timestamp")


def series_record_id(run: str, kind: str, key: str) -> str:
    """The id of a series' record (the same on every process)."""
    return record_id("metric-series", run, kind, key)


def last_points(items: list[Any]) -> dict[str, dict[str, Any]]:
    """The point with the highest step of each series among ``items`` (points or log-call items)."""
    last: dict[str, dict[str, Any]] = {}
    for item in expand(items):
        if not isinstance(item, dict):
            continue
        run, kind, key, step = item.get("run"), normalize_type(item.get("type")), item.get("key"), item.get("step")
        if not (isinstance(run, str) and isinstance(kind, str) and isinstance(key, str) and isinstance(step, int)):
            continue
        sid = series_record_id(run, kind, key)
        if sid not in last or step >= last[sid]["step"]:
            last[sid] = {"run": run, "type": kind, "key": key, **{f: item.get(f) for f in LAST_FIELDS}}
    return last


class SeriesSummary:
    """Keeps ``metric-series`` in step with ``metrics`` and ``runs`` (see the module docstring)."""

    def __init__(self, app: App, handle: ServiceHandle) -> None:
        self.app = app
        self.handle = handle

    @property
    def store(self) -> Any:
        return self.handle.store

    def _access(self, run: dict[str, Any] | None) -> dict[str, Any]:
        """The fields of a run the permission rules read: its owner and whether it is public."""
        if run is None or not self.app.auth_enabled:
            return {}
        owner = self.app.owner_field
        out = {"public": bool(run.get("public", False))}
        if owner and run.get(owner) is not None:
            out[owner] = run[owner]
        return out

    async def _run(self, run_id: str) -> dict[str, Any] | None:
        runs = self.app.services.get(RUNS)
        return None if runs is None else await runs.store._get_key(runs.store.key(run_id))

    async def record(self, sid: str, point: dict[str, Any]) -> None:
        """Make ``point`` the series' last one unless a later step is stored."""
        store = self.store
        stored = await store._get_key(store.key(sid))
        changes = {f: point[f] for f in LAST_FIELDS}
        if stored is None:
            doc = {"_id": sid, **point, **self._access(await self._run(point["run"]))}
            try:
                await self.handle.create(doc)
                return
            except Conflict:  # another call made it meanwhile
                stored = await store._get_key(store.key(sid))
                if stored is None:
                    return
        if stored["step"] > point["step"] or all(stored.get(f) == changes[f] for f in LAST_FIELDS):
            return
        try:  # conditional: a later point written meanwhile wins
            await self.handle.patch(sid, changes, Params(query={"step": {"$lte": point["step"]}}))
        except NotFound:
            pass

    async def track(self, ctx: HookContext, next: Callable[[], Awaitable[None]]) -> None:
        """Around ``metrics`` create: after the points are written (and their events out)."""
        await next()
        if not ctx.result:
            return  # nothing was written (a batch sent again)
        items = ctx.data if isinstance(ctx.data, list) else [ctx.data]
        for sid, point in last_points(items).items():
            await self.record(sid, point)

    async def refresh(self, run: str, kind: str, key: str) -> None:
        """Make the series' record show its last remaining point (none left: remove the record)."""
        metrics = self.app.services.get(METRICS)
        if metrics is None:
            return
        where = And((Cmp(("run",), "$eq", run), Cmp(("type",), "$eq", kind), Cmp(("key",), "$eq", key)))
        found = await metrics.store._find(Query(where=where, sort=[(("step",), -1)], limit=1))
        sid = series_record_id(run, kind, key)
        stored = await self.store._get_key(self.store.key(sid))
        if not found:
            if stored is not None:
                await self.handle.remove(sid)
            return
        last = {f: found[0].get(f) for f in LAST_FIELDS}
        if stored is None:
            await self.record(sid, {"run": run, "type": kind, "key": key, **last})
        elif any(stored.get(f) != v for f, v in last.items()):
            await self.handle.patch(sid, last)

    async def forget_points(self, ctx: HookContext) -> None:
        """After points are removed (not with their run): their series show what is left."""
        removed = ctx.result if isinstance(ctx.result, list) else [ctx.result]
        affected = {(p["run"], p["type"], p["key"]) for p in removed
                    if isinstance(p, dict) and all(isinstance(p.get(f), str) for f in ("run", "type", "key"))}
        for run, kind, key in affected:
            await self.refresh(run, kind, key)

    async def follow_run(self, ctx: HookContext) -> None:
        """After a run's patch/update: its series follow a change of owner or public flag."""
        if not self.app.auth_enabled:
            return
        access_fields = {"public", self.app.owner_field}
        if ctx.method == "patch" and isinstance(ctx.data, dict) and not access_fields & set(ctx.data):
            return  # neither changed (an update replaces the whole run: always looked at)
        for run in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if not isinstance(run, dict) or run.get("_id") is None:
                continue
            access = self._access(run)
            where = Cmp(("run",), "$eq", str(run["_id"]))
            for doc in await self.store._find(Query(where=where)):
                if any(doc.get(k) != v for k, v in access.items()):
                    await self.handle.patch(doc["_id"], access)

    async def drop_run(self, ctx: HookContext) -> None:
        """After a run's removal: its series go too."""
        for run in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if isinstance(run, dict) and run.get("_id") is not None:
                await self.handle.remove(None, Params(query={"run": str(run["_id"])}))

    async def backfill(self, ctx: HookContext) -> None:
        """Before a find by one run: summarise the run if it has points but no series records
        (points written before this service existed)."""
        run_id = ctx.params.query.get("run")
        if not isinstance(run_id, str):
            return
        mine = Cmp(("run",), "$eq", run_id)
        if await self.store._find(Query(where=mine, limit=1)):
            return
        metrics = self.app.services.get(METRICS)
        if metrics is None or not await metrics.store._find(Query(where=mine, limit=1)):
            return
        points = metrics.store
        for kind in await points._distinct(("type",), mine):
            of_type = And((mine, Cmp(("type",), "$eq", kind)))
            for key in await points._distinct(("key",), of_type):
                where = And((of_type, Cmp(("key",), "$eq", key)))
                found = await points._find(Query(where=where, sort=[(("step",), -1)], limit=1))
                if found:
                    p = found[0]
                    await self.record(series_record_id(run_id, kind, key),
                                      {"run": run_id, "type": kind, "key": key, **{f: p.get(f) for f in LAST_FIELDS}})


async def read_only(ctx: HookContext) -> None:
    if ctx.params.provider is not None:
        raise MethodNotAllowed(f"{PATH} is kept by the server from the metrics written; clients only read it")


async def setup_series(app: App) -> SeriesSummary:
    """Register ``metric-series`` and its hooks on ``metrics`` and ``runs`` (tracking must be set up)."""
    handle = await use_stored(app, PATH, indexes=["run"], multi=["remove"],
                              paginate={"default": 1000, "max": 10000})
    summary = SeriesSummary(app, handle)
    handle.hooks({"before": {"find": [summary.backfill], "create": [read_only], "update": [read_only],
                             "patch": [read_only], "remove": [read_only]}})
    app.service(METRICS).hooks({"around": {"create": [summary.track]}, "after": {"remove": [summary.forget_points]}})
    app.service(RUNS).hooks({"after": {"patch": [summary.follow_run], "update": [summary.follow_run],
                                       "remove": [summary.drop_run]}})
    return summary


__all__ = ["PATH", "SeriesSummary", "last_points", "series_record_id", "setup_series"]
