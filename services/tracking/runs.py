"""What tracking adds to ``runs``: appended associations, and a run's metrics removed with it.

``associations`` is ``{"inputs": [...], "outputs": [...]}``, each item ``{kind, id, name}``. A
client's ``patch``/``update`` appends its items to the stored ones (one per ``(kind, id)``; a
known item takes the new name) instead of replacing them, so that what another writer added (the
model registry lists the models a run made) is never lost to a client that did not know it. The
server's own calls replace, which is how an item is taken off.
"""

from __future__ import annotations

from typing import Any

from backend.app import App
from backend.hooks import HookContext
from backend.query import Cmp, Query

from .series import SeriesIndex, series_id

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


def run_hooks(app: App, index: SeriesIndex) -> dict[str, Any]:
    """The tracking hooks of ``runs``."""

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
            "after": {"remove": [remove_metrics]}}
