"""The link between a model and the run that made it: ``task`` on the model, an entry in the run's
``associations.outputs`` (``{"kind": "model", "id", "name"}``, no duplicate by kind and id).

The registry writes the run's side itself (server side, so every client gets it): when a model is
created or connected to a run, and when a run is created that models already name (a Writer's run
reaches the server after the model when the backend was down, or simply later: its sender runs in
the background). A client that writes a run's ``associations`` without the registry's entries, or
replaces the run, does not drop them: they are added back (the models naming the run say which).
Appends are conditional writes on the run's ``updatedAt``, retried when another writer came first,
so that concurrent appends (the tracking client's included) lose nothing.
A model may name any run its creator may read.
"""

from __future__ import annotations

import logging
from typing import Any

from backend.app import App
from backend.errors import FeathersError, Forbidden, NotFound
from backend.hooks import HookContext, Params

log = logging.getLogger(__name__)
RUNS = "runs"
ATTEMPTS = 20
OWN_WRITE = "registry_links"  # in Params.extra: a change of a run's outputs made here


def input_model_id(run: dict[str, Any]) -> str | None:
    """The id of the run's first input model (``associations.inputs``), if any."""
    assoc = run.get("associations")
    inputs = assoc.get("inputs") if isinstance(assoc, dict) else None
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict) and item.get("kind") == "model" and isinstance(item.get("id"), str):
            return str(item["id"])
    return None


async def run_of(ctx: HookContext, run_id: str) -> dict[str, Any] | None:
    """The stored run ``run_id`` (None when there is none yet); Forbidden when the caller may not read it."""
    runs = ctx.app.services.get(RUNS)
    if runs is None or runs.adapter is None:
        return None
    try:
        found = await runs.store._get_key(runs.store.key(run_id))
    except NotFound:
        return None
    if found is None:
        return None
    if ctx.params.provider is not None and ctx.app.auth_enabled:
        try:
            await runs.get(run_id, Params(provider=ctx.params.provider, user=ctx.params.user))
        except FeathersError:
            raise Forbidden(f"You may not connect a model to run '{run_id}'",
                            errors={"task": "not a run you may read"}) from None
    return found


def _same(a: Any, kind: str, id: str) -> bool:
    return isinstance(a, dict) and a.get("kind") == kind and a.get("id") == id


async def _edit_outputs(app: App, run_id: str, change: Any) -> bool:
    """Apply ``change(outputs) -> new outputs | None`` to the run's outputs, conditionally on the run
    not having changed meanwhile (retried otherwise). False when there is no such run."""
    runs = app.services.get(RUNS)
    if runs is None or runs.adapter is None:
        return False
    for _ in range(ATTEMPTS):
        try:
            run = await runs.store._get_key(runs.store.key(run_id))
        except NotFound:
            return False
        if run is None:
            return False
        assoc = run.get("associations") if isinstance(run.get("associations"), dict) else {}
        outputs = assoc.get("outputs") if isinstance(assoc.get("outputs"), list) else []
        new = change(list(outputs))
        if new is None:
            return True  # nothing to change
        value = {"inputs": [], **assoc, "outputs": new}
        try:
            await runs.patch(run_id, {"associations": value}, Params(query={"updatedAt": run.get("updatedAt")},
                                                                      extra={OWN_WRITE: True}))
            return True
        except NotFound:
            continue  # another writer changed the run first: read it again
    log.warning("could not update the associations of run %s: it keeps changing", run_id)
    return False


async def add_output(app: App, run_id: str, kind: str, id: str, name: Any) -> bool:
    """Append ``{kind, id, name}`` to the run's ``associations.outputs`` unless it is there."""

    def change(outputs: list[Any]) -> list[Any] | None:
        if any(_same(o, kind, id) for o in outputs):
            return None
        return [*outputs, {"kind": kind, "id": id, "name": name}]

    return await _edit_outputs(app, run_id, change)


async def drop_output(app: App, run_id: str, kind: str, id: str) -> bool:
    """Remove the ``(kind, id)`` entry from the run's ``associations.outputs``."""

    def change(outputs: list[Any]) -> list[Any] | None:
        kept = [o for o in outputs if not _same(o, kind, id)]
        return None if len(kept) == len(outputs) else kept

    return await _edit_outputs(app, run_id, change)


def association_hooks(app: App) -> tuple[dict[str, Any], dict[str, Any]]:
    """The hooks keeping runs and models linked: ``(models hooks, runs hooks)``."""

    async def linked(ctx: HookContext) -> None:
        """After a model is created, or its ``task``/``name`` changed: list it in its run."""
        if ctx.method != "create" and not (isinstance(ctx.data, dict) and {"task", "name"} & set(ctx.data)):
            return
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if isinstance(doc, dict) and isinstance(doc.get("task"), str):
                await _rename_or_add(app, doc)

    async def unlinked(ctx: HookContext) -> None:
        """After a model is removed: take it off its run's outputs."""
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if isinstance(doc, dict) and isinstance(doc.get("task"), str):
                await drop_output(app, doc["task"], "model", str(doc["_id"]))

    async def new_run(ctx: HookContext) -> None:
        """After a run is created: list the models that already name it."""
        models = app.services.get("models")
        if models is None:
            return
        for run in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if not isinstance(run, dict) or run.get("_id") is None:
                continue
            found = await models.store.find(Params(query={"task": str(run["_id"])}, extra={"paginate": False}))
            for doc in found:
                await add_output(app, str(run["_id"]), "model", str(doc["_id"]), doc.get("name"))

    async def keep_links(ctx: HookContext) -> None:
        """Before a run is replaced, or its associations written, by anyone else: the registry's
        entries (the models naming the run) stay listed, whatever the writer knew of them."""
        data = ctx.data
        if ctx.params.extra.get(OWN_WRITE) or ctx.id is None or not isinstance(data, dict):
            return
        if ctx.method == "patch" and "associations" not in data:
            return
        models = app.services.get("models")
        if models is None:
            return
        found = await models.store.find(Params(query={"task": str(ctx.id)}, extra={"paginate": False}))
        if not found:
            return
        assoc = data.get("associations") if isinstance(data.get("associations"), dict) else {}
        outputs = list(assoc.get("outputs")) if isinstance(assoc.get("outputs"), list) else []
        missing = [{"kind": "model", "id": str(m["_id"]), "name": m.get("name")} for m in found
                   if not any(_same(o, "model", str(m["_id"])) for o in outputs)]
        if missing:
            data["associations"] = {"inputs": [], **assoc, "outputs": outputs + missing}

    model_spec = {"after": {"create": [linked], "update": [linked], "patch": [linked], "remove": [unlinked]}}
    run_spec = {"before": {"update": [keep_links], "patch": [keep_links]}, "after": {"create": [new_run]}}
    return model_spec, run_spec


async def _rename_or_add(app: App, doc: dict[str, Any]) -> None:
    model_id, name = str(doc["_id"]), doc.get("name")

    def change(outputs: list[Any]) -> list[Any] | None:
        for i, o in enumerate(outputs):
            if _same(o, "model", model_id):
                if o.get("name") == name:
                    return None
                return [*outputs[:i], {**o, "name": name}, *outputs[i + 1:]]
        return [*outputs, {"kind": "model", "id": model_id, "name": name}]

    await _edit_outputs(app, str(doc["task"]), change)
