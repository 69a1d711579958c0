"""What tracking adds to ``runs``: appended associations, Marcelle's ``logs`` as metric points, and
a run's metrics removed with it.

``associations`` is ``{"inputs": [...], "outputs": [...]}``, each item ``{kind, id, name}``. A
client's ``patch``/``update`` appends its items to the stored ones (one per ``(kind, id)``; a
known item takes the new name) instead of replacing them, so that what another writer added (the
model registry lists the models a run made) is never lost to a client that did not know it. The
server's own calls replace, which is how an item is taken off.

A run in Marcelle's format (the Writer, the KerasCallback, ``plume sync``, Marcelle's own package)
keeps one value per epoch and metric in ``logs``; each time ``logs`` is written, its values are
also written as ``metrics`` points (``val_<name>`` as type ``val``, other names as ``train``; step
and epoch the value's index), so that every run has one history whatever wrote it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from backend.app import App
from backend.errors import FeathersError
from backend.hooks import HookContext
from backend.query import Cmp, Query

from .series import SeriesIndex, series_id

log = logging.getLogger(__name__)
SIDES = ("inputs", "outputs")


def merge_associations(stored: Any, given: Any) -> Any:
    """``stored`` with the items of ``given`` appended (or renamed), per side; ``given`` as is when
    it is not an associations object (the schema refuses it then)."""
    if not isinstance(given, dict):
        return given
    stored = stored if isinstance(stored, dict) else {}
    out: dict[str, Any] = {**stored, **{k: v for k, v in given.items() if k not in SIDES}}
    for side in SIDES:
        items = [dict(i) for i in stored.get(side) or [] if isinstance(i, dict)]
        new = given.get(side)
        if not isinstance(new, list):
            out[side] = items if new is None else new
            continue
        for item in new:
            if not isinstance(item, dict):
                items.append(item)  # the schema answers 400
                continue
            match = next((i for i in items if i.get("kind") == item.get("kind") and i.get("id") == item.get("id")),
                         None)
            if match is None:
                items.append(dict(item))
            else:
                match.update(item)
        out[side] = items
    return out


def log_points(run: dict[str, Any], owner_field: str | None) -> list[dict[str, Any]]:
    """The metric points of a Marcelle run's ``logs`` (``{name: [value per epoch]}``)."""
    logs = run.get("logs")
    if not isinstance(logs, dict):
        return []
    owner = {owner_field: run[owner_field]} if owner_field and run.get(owner_field) is not None else {}
    points = []
    for name, series in logs.items():
        if not isinstance(series, list) or not isinstance(name, str) or not name:
            continue
        kind, key = ("val", name[4:]) if name.startswith("val_") and len(name) > 4 else ("train", name)
        for epoch, value in enumerate(series):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                points.append({"run": str(run["_id"]), "type": kind, "key": key, "step": epoch, "epoch": epoch,
                               "value": value, "timestamp": None, **owner})
    return points


def run_hooks(app: App, index: SeriesIndex, max_points: int) -> dict[str, Any]:
    """The tracking hooks of ``runs``."""

    async def logs_as_points(ctx: HookContext) -> None:
        if ctx.method != "create" and not (isinstance(ctx.data, dict) and "logs" in ctx.data):
            return
        metrics = app.services.get("metrics")
        if metrics is None:
            return
        for run in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if not isinstance(run, dict) or run.get("_id") is None:
                continue
            points = log_points(run, app.owner_field if app.auth_enabled else None)
            try:
                for start in range(0, len(points), max_points):
                    await metrics.create(points[start:start + max_points])
            except FeathersError as exc:  # the run is written: its history misses what the schema refuses
                log.warning("logs of run %s not written as metrics: %s", run["_id"], exc)

    async def append_associations(ctx: HookContext) -> None:
        data = ctx.data
        if ctx.params.provider is None or ctx.id is None or not isinstance(data, dict) or "associations" not in data:
            return
        store = ctx.service.store
        current = await store._get_key(store.key(ctx.id))
        if current is not None:
            data["associations"] = merge_associations(current.get("associations"), data["associations"])

    async def remove_metrics(ctx: HookContext) -> None:
        metrics = app.services.get("metrics")
        if metrics is None:
            return
        removed = ctx.result if isinstance(ctx.result, list) else [ctx.result]
        store = metrics.store
        for run in removed:
            if not isinstance(run, dict) or run.get("_id") is None:
                continue
            points = await store._find(Query(where=Cmp(("run",), "$eq", str(run["_id"]))))
            if points:
                await store._delete([str(p["_id"]) for p in points])
                await index.forget({series_id(p["run"], p["type"], p["key"]) for p in points})

    return {"before": {"update": [append_associations], "patch": [append_associations]},
            "after": {"create": [logs_as_points], "update": [logs_as_points], "patch": [logs_as_points],
                      "remove": [remove_metrics]}}
