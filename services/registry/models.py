"""Hooks of the ``models`` service: defaults, server-written fields, labels, and the published state.

* ``uri``, ``version``, ``versionId`` and ``publishedAt`` are written by the server only: a version
  created in ``model-versions`` moves ``uri``/``version`` (a patch marked with :data:`SERVER_WRITE`),
  publishing sets ``publishedAt``.
* ``labels`` map labels to unique integers.
* A published model refuses changes to its weights, design (``config_text``) and labels (409
  Conflict), and stays published; only an admin may unpublish or remove it (with authentication
  off every caller may, as everything else then).
* A new model that names a run as ``task`` is named after it unless named, and without
  configuration or labels takes them from the run's input model (``associations.inputs``), if any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.app import App
from backend.auth.authorize import is_admin
from backend.errors import BadRequest, Conflict, FeathersError, Forbidden, NotFound
from backend.hooklib.timestamps import now_iso
from backend.hooks import HookContext, Params

from .associations import input_model_id, run_of

SERVER_WRITE = "registry_server_write"  # in Params.extra: a patch of the weights pointer by the registry
SERVER_FIELDS = ("uri", "version", "versionId", "publishedAt")
WEIGHT_FIELDS = ("uri", "version", "versionId")
DESIGN_FIELDS = ("config_text", "labels")


def check_labels(labels: Any) -> None:
    """400 unless ``labels`` is None or ``{label: int}`` with unique values."""
    if labels is None:
        return
    if not isinstance(labels, dict):
        raise BadRequest("labels must be an object {label: integer}", errors={"labels": "not an object"})
    bad = {k: v for k, v in labels.items() if type(v) is not int}  # bool and 1.0 are not labels' values
    if bad:
        raise BadRequest(f"labels values must be integers, got {bad!r}",
                         errors={f"labels.{k}": "not an integer" for k in bad})
    seen: dict[int, str] = {}
    for label, value in labels.items():
        if value in seen:
            raise BadRequest(f"labels values must be unique: {seen[value]!r} and {label!r} are both {value}",
                             errors={f"labels.{label}": f"duplicate value {value}"})
        seen[value] = label


def may_override(ctx: HookContext) -> bool:
    """Whether the caller may unpublish or remove a published model: admins and the server's own
    calls, and everybody when authentication is off."""
    return not ctx.app.auth_enabled or is_admin(ctx.params)


def _items(data: Any) -> list[dict[str, Any]]:
    return [d for d in (data if isinstance(data, list) else [data]) if isinstance(d, dict)]


def model_hooks(app: App, default_convert: tuple[str, ...]) -> dict[str, Any]:
    """The hook spec of ``models``."""

    async def before_create(ctx: HookContext) -> None:
        for item in _items(ctx.data):
            for name in (*SERVER_FIELDS, "published"):
                item.pop(name, None)  # a new model has no weights and is not published yet
            check_labels(item.get("labels"))
            item.update(published=False, publishedAt=None, version=0, uri=None, versionId=None)
            item.setdefault("tags", [])
            item.setdefault("convert", list(default_convert))
            if item.get("task") is not None:
                await _from_task(ctx, item)
            if not item.get("name"):
                item["name"] = "untitled model"

    async def _from_task(ctx: HookContext, item: dict[str, Any]) -> None:
        """Check that the caller may name the run; take its input model's design when it has none."""
        run = await run_of(ctx, str(item["task"]))
        if run is None:
            return  # not on the server yet (a Writer's run is sent in the background): linked when it comes
        if not item.get("name") and isinstance(run.get("name"), str) and run["name"]:
            item["name"] = run["name"]  # a model is named after its run by default
        if item.get("config_text") is not None and item.get("labels") is not None:
            return
        source_id = input_model_id(run)
        if source_id is None:
            return
        try:
            source = await ctx.service.get(source_id, Params(provider=ctx.params.provider, user=ctx.params.user))
        except FeathersError:
            return  # gone, or not the caller's to read: nothing to take
        for name in DESIGN_FIELDS:
            if item.get(name) is None and source.get(name) is not None:
                item[name] = source[name]

    async def before_change(ctx: HookContext) -> None:
        data = ctx.data
        if not isinstance(data, dict):
            return  # the adapter answers 400
        server = bool(ctx.params.extra.get(SERVER_WRITE))
        if not server:
            for name in SERVER_FIELDS:
                data.pop(name, None)
        if "labels" in data:
            check_labels(data["labels"])
        if ctx.id is None:
            if server or set(data) & {*WEIGHT_FIELDS, *DESIGN_FIELDS, "published"}:
                raise BadRequest("Change models one at a time")
            return
        current = await ctx.service.store._get_key(ctx.service.store.key(ctx.id))
        if current is None:
            return  # the method answers 404
        if ctx.method == "update" and not server:
            # A replace keeps the weights and the published state, and a published model's design.
            kept = (*SERVER_FIELDS, "published", *(DESIGN_FIELDS if current.get("published") else ()))
            for name in kept:
                if name in current and name not in data:
                    data[name] = current[name]
        if current.get("published"):
            _check_published(ctx, data, current)
        elif data.get("published") is True:
            data["publishedAt"] = now_iso()

    def _check_published(ctx: HookContext, data: dict[str, Any], current: dict[str, Any]) -> None:
        changed = [n for n in (*WEIGHT_FIELDS, *DESIGN_FIELDS) if n in data and data[n] != current.get(n)]
        if changed:
            what = "weights" if set(changed) & set(WEIGHT_FIELDS) else " and ".join(changed)
            raise Conflict(f"Model '{ctx.id}' is published: its {what} cannot change", errors={
                n: "the model is published" for n in changed})
        if data.get("published") is False:
            if not may_override(ctx):
                raise Conflict(f"Model '{ctx.id}' is published: only an admin may unpublish it")
            data["publishedAt"] = None

    async def before_remove(ctx: HookContext) -> None:
        if ctx.id is None or may_override(ctx):
            return
        current = await ctx.service.store._get_key(ctx.service.store.key(ctx.id))
        if current is not None and current.get("published"):
            raise Forbidden(f"Model '{ctx.id}' is published: only an admin may remove it")

    return {
        "before": {"create": [before_create], "update": [before_change], "patch": [before_change],
                   "remove": [before_remove]},
    }


async def read_model(ctx: HookContext, model_id: Any, what: Callable[[str], str]) -> dict[str, Any]:
    """The model ``model_id`` as stored; 400 (naming the field with ``what``) when there is none."""
    models = ctx.app.service("models")
    if not isinstance(model_id, str):
        raise BadRequest("model must be a model id", errors={"model": "not a model id"})
    try:
        found = await models.store._get_key(models.store.key(model_id))
    except NotFound:
        found = None
    if found is None:
        raise BadRequest(what(model_id), errors={"model": "unknown model"})
    return found
