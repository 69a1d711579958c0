"""The ``endpoints`` service: model endpoints, their lifecycle hooks and the ``predict`` method.

An endpoint ``{name, model, description, replicas, status, inputs, outputs, top_n, labels,
author, ...}`` is stored under its name (``_id`` = ``name``, so names are unique in every
process and database). Clients write its configuration; the server writes ``status``, ``inputs``,
``outputs``, ``error`` and ``source``. A client may only move ``status`` to ``stopped`` (unload)
or ``creating`` (load again); changing ``model``, ``replicas``, ``gpu_required``, ``top_n``,
``labels`` or ``image_scale`` reloads the endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from backend.app import App, ServiceHandle
from backend.errors import BadRequest, NotFound, Unprocessable
from backend.hooks import HookContext, Params
from backend.storage.base import StorageAdapter

from .decode import columns_of, feeds_of
from .deployments import PATH, SIGNAL, Deployments, config_of
from .predictions import labels_of, predictions_of
from .resolve import Resolver
from .runtime import gpu_providers

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
SERVER_FIELDS = ("inputs", "outputs", "error", "source")
CLIENT_STATUSES = ("stopped", "creating")
MAX_REPLICAS = 16


class EndpointService:
    """The stored ``endpoints`` service plus the custom method ``predict(data, params)``."""

    def __init__(self, adapter: StorageAdapter, predict: Callable[[Any, Params], Awaitable[Any]]) -> None:
        self.adapter = adapter
        self.predict = predict
        for method in ("find", "get", "create", "update", "patch", "remove"):
            setattr(self, method, getattr(adapter, method))

    async def setup(self, app: App, path: str) -> None:
        await self.adapter.setup(app, path)

    async def teardown(self) -> None:
        await self.adapter.teardown()


def _check_config(item: dict[str, Any], *, creating: bool) -> None:
    """400 for a malformed configuration field (the schema checks types; this checks meaning)."""
    if "replicas" in item or creating:
        replicas = item.setdefault("replicas", 1)
        if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= MAX_REPLICAS:
            raise BadRequest(f"replicas must be an integer from 1 to {MAX_REPLICAS}", errors={"replicas": "invalid"})
    top_n = item.get("top_n")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise BadRequest("top_n must be a positive integer (or null)", errors={"top_n": "invalid"})
    if item.get("labels") is not None and labels_of(item["labels"]) is None:
        raise BadRequest("labels must be a list of names (by class index) or {name: index}",
                         errors={"labels": "invalid"})
    scale = item.get("image_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise BadRequest("image_scale must be a positive number", errors={"image_scale": "invalid"})
    if item.get("gpu_required") and not gpu_providers():
        raise Unprocessable("gpu_required: this server's onnxruntime has no GPU execution provider",
                            errors={"gpu_required": "no GPU here"})


def endpoint_hooks(app: App, deployments: Deployments, resolver: Resolver) -> dict[str, Any]:
    """The hook spec of ``endpoints`` (see the module docstring)."""

    async def checked_model(model: Any, params: Params) -> Any:
        """The name of the model ``model`` names; 404 when there is none, 422 when it cannot serve."""
        path, doc = await resolver.find(model, params)
        why = await resolver.precheck(path, doc)
        if why is not None:
            raise Unprocessable(f"model '{model}' cannot be served: {why}", errors={"model": why})
        return doc.get("name")

    async def prepare(ctx: HookContext) -> None:
        """Before create: check the configuration and the model, set the server's fields."""
        if not isinstance(ctx.data, dict):
            return  # the adapter answers 400 (a list is refused as multi-create)
        item = ctx.data
        name = item.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise BadRequest("name must be 1-128 letters, digits, '_', '-' or '.' (starting with a letter or digit)",
                             errors={"name": "invalid"})
        _check_config(item, creating=True)
        # 404/400 now rather than a failed endpoint later
        item["model_name"] = await checked_model(item.get("model"), ctx.params)
        user = ctx.params.user or {}
        item.update({"_id": name, "status": "creating", "inputs": None, "outputs": None, "error": None})
        item.setdefault("description", "")
        item.setdefault("author", user.get("email") or user.get("name"))
        item.setdefault("stream", name)
        item.pop("source", None)

    async def protect(ctx: HookContext) -> None:
        """Before update/patch from a client: server fields stay, status moves only to stopped/creating."""
        if not isinstance(ctx.data, dict):
            return
        item = ctx.data
        if ctx.params.provider is None:
            return
        for name in SERVER_FIELDS:
            item.pop(name, None)
        current = await ctx.service.store.get(ctx.id, Params()) if ctx.id is not None else None
        if current is None:
            raise BadRequest("endpoints are changed one at a time (patch /endpoints/<name>)")
        if "name" in item and item["name"] != current.get("name"):
            raise BadRequest("an endpoint cannot be renamed: create another", errors={"name": "read-only"})
        if "status" in item and item["status"] not in CLIENT_STATUSES:
            raise BadRequest("status may only be set to 'stopped' (shut down) or 'creating' (start again)",
                             errors={"status": "written by the server"})
        if ctx.method == "update":
            item.setdefault("name", current.get("name"))
            for name in (*SERVER_FIELDS, "status", "author", "stream", "createdAt"):
                if name in current and name not in item:
                    item[name] = current[name]
        if "model" in item and item["model"] != current.get("model"):
            item["model_name"] = await checked_model(item["model"], ctx.params)
        _check_config(item, creating=False)
        if config_of({**current, **item}) != config_of(current) and item.get("status") != "stopped":
            item["status"] = "creating"  # a new configuration: load it
        if item.get("status") == "creating":
            item["error"] = None

    async def react(ctx: HookContext) -> None:
        """After a write: load, reload or unload here; tell the other processes."""
        for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
            if not isinstance(doc, dict):
                continue
            name = str(doc["_id"])
            if ctx.method == "remove" or doc.get("status") == "stopped":
                await deployments.unload(name)
            elif (doc.get("status") == "creating" and ctx.params.provider is not None) or ctx.method == "create":
                deployments.start(doc, record=True)
            await app.signal({"type": SIGNAL, "name": name})

    return {
        "before": {"create": [prepare], "update": [protect], "patch": [protect]},
        "after": {"create": [react], "update": [react], "patch": [react], "remove": [react]},
    }


def make_predict(app: App, deployments: Deployments) -> Callable[[Any, Params], Awaitable[Any]]:
    """``predict(data, params)``: ``{"instances": [...]}`` (or ``{"features": [...]}``) → ``{"predictions":
    [...]}``; ``{"inputs": {name: rows}}`` → ``{"outputs": {name: rows}}`` (raw: no top_n)."""

    async def predict(data: Any, params: Params) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise BadRequest("the body must be an object: {\"instances\": [...]}")
        name = params.route.get("id") or data.get("endpoint") or params.query.get("endpoint")
        if not isinstance(name, str) or not name:
            raise BadRequest("name the endpoint: POST /endpoints/<name>/predict, or {\"endpoint\": <name>, ...}",
                             errors={"endpoint": "missing"})
        if app.auth_enabled and params.provider is not None:
            # The caller must be allowed to read the endpoint (its rules apply as to a get).
            await app.service(PATH).get(name, replace(params, query={}, route={}))
        deployment = await deployments.get(name)
        if "inputs" in data:
            feeds, rows = columns_of(data["inputs"], deployment.inputs)
            outputs = await deployment.run(feeds, rows)
            return {"outputs": {spec.name: out.tolist() for spec, out in zip(deployment.outputs, outputs, strict=True)}}
        instances = data.get("instances", data.get("features"))
        if instances is None:
            raise BadRequest("the body needs \"instances\": [...] (or \"features\", or columnar \"inputs\")",
                             errors={"instances": "missing"})
        feeds, rows = feeds_of(instances, deployment.inputs, deployment.image_scale)
        outputs = await deployment.run(feeds, rows)
        return {"predictions": predictions_of(outputs, deployment.outputs, deployment.labels, deployment.top_n)}

    return predict


async def use_endpoints(app: App, handle: ServiceHandle, deployments: Deployments, resolver: Resolver) -> None:
    """Serve ``handle``'s stored service with ``predict`` and the endpoint hooks."""
    if handle.adapter is None:
        raise TypeError("endpoints must be a stored service")
    handle.options["methods"] = ["predict"]
    handle.options["method_actions"] = {"predict": "get"}
    handle.replace_service(EndpointService(handle.adapter, make_predict(app, deployments)))
    handle.hooks(endpoint_hooks(app, deployments, resolver))


def endpoint_name(data: Any) -> str:
    """The endpoint a queue item or job names (400 when it names none)."""
    name = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise BadRequest("endpoint must name an endpoint", errors={"endpoint": "missing"})
    return name


__all__ = ["NAME", "EndpointService", "NotFound", "endpoint_name", "make_predict", "use_endpoints"]
