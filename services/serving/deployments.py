"""The endpoints this process serves: their sessions loaded, reloaded and unloaded as the
``endpoints`` documents change.

Every process serving the app loads every ``ready`` endpoint (so any of them answers predictions
and reads the Redis streams). The process that handles a create (or a restart) also records the
outcome on the document: ``status`` ``ready`` with the model's ``inputs``/``outputs``, or
``failed`` with ``error``. Other processes hear of changes through :meth:`App.signal` (carried by
Redis with ``--redis``) and :meth:`Deployments.sync` their own state; a process that never heard of
a ready endpoint loads it on its first prediction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from backend.app import App, ServiceHandle
from backend.errors import Conflict, FeathersError, NotFound, Unavailable
from backend.hooks import Params

from .predictions import labels_of
from .resolve import ModelNotServable, ModelSource, Resolver
from .runtime import Deployment, ModelError, require_onnxruntime
from .settings import ServingSettings

log = logging.getLogger(__name__)
PATH = "endpoints"
SIGNAL = "serving.endpoint"
Listener = Callable[[str, Deployment | None, dict[str, Any] | None], Awaitable[None]]


def config_of(doc: dict[str, Any]) -> tuple[Any, ...]:
    """What a deployment is made from: a change of any of these reloads it."""
    labels = doc.get("labels")
    return (doc.get("model"), doc.get("replicas", 1), bool(doc.get("gpu_required")), doc.get("top_n"),
            repr(labels), doc.get("image_scale", 1.0))


class Deployments:
    """Loads, serves and unloads this process's endpoints (see the module docstring)."""

    def __init__(self, app: App, resolver: Resolver, settings: ServingSettings) -> None:
        self.app = app
        self.resolver = resolver
        self.settings = settings
        self.loaded: dict[str, Deployment] = {}
        self._loading: dict[str, asyncio.Task[Deployment | None]] = {}
        self._listeners: list[Listener] = []
        self._closed = False

    @property
    def handle(self) -> ServiceHandle:
        return self.app.service(PATH)

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(name, deployment or None, document or None)`` after each load or unload."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------ loading
    def start(self, doc: dict[str, Any], *, record: bool) -> asyncio.Task[Deployment | None]:
        """Load ``doc``'s endpoint in the background (replacing a load in progress); with ``record``
        patch its outcome on the document."""
        name = str(doc["_id"])
        previous = self._loading.pop(name, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.create_task(self._load(doc, record), name=f"serving-load-{name}")
        self._loading[name] = task
        task.add_done_callback(lambda t: self._loading.pop(name, None) if self._loading.get(name) is t else None)
        return task

    async def _load(self, doc: dict[str, Any], record: bool) -> Deployment | None:
        name = str(doc["_id"])
        try:
            source: ModelSource = await self.resolver.source(str(doc.get("model")))
            deployment = await Deployment.load(
                name, source.onnx, replicas=int(doc.get("replicas", 1)), gpu=bool(doc.get("gpu_required")),
                labels=_labels(doc) or source.labels, top_n=doc.get("top_n"),
                image_scale=float(doc.get("image_scale", 1.0)), settings=self.settings, config=config_of(doc))
        except (ModelNotServable, ModelError, FeathersError) as exc:
            log.info("endpoint %s failed to load: %s", name, exc)
            if record:
                await self._record(name, {"status": "failed", "error": str(exc)})
            return None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("endpoint %s failed to load", name)
            if record:
                await self._record(name, {"status": "failed", "error": f"internal error: {type(exc).__name__}: {exc}"})
            return None
        if self._closed:
            await deployment.close()
            return None
        await self._install(name, deployment, doc)
        if record:
            ok = await self._record(name, {"status": "ready", "error": None, "source": source.ref,
                                           **deployment.describe()}, only_if={"status": "creating"})
            if not ok:  # stopped or removed while it loaded: that change wins
                await self.unload(name)
                return None
        log.info("endpoint %s ready: %s (%d replica(s))", name, source.ref, len(deployment.sessions))
        return deployment

    async def _install(self, name: str, deployment: Deployment, doc: dict[str, Any]) -> None:
        old = self.loaded.get(name)
        self.loaded[name] = deployment
        if old is not None:
            await old.close()
        for listener in self._listeners:
            await listener(name, deployment, doc)

    async def _record(self, name: str, data: dict[str, Any], only_if: dict[str, Any] | None = None) -> bool:
        """Patch the document through the service (clients see the event); False when it is gone
        (or no longer matches ``only_if``)."""
        try:
            await self.handle.patch(name, data, Params(query=only_if or {}))
        except NotFound:
            return False
        return True

    async def unload(self, name: str) -> None:
        """Stop serving ``name`` here (a load in progress is cancelled)."""
        task = self._loading.pop(name, None)
        if task is not None:
            task.cancel()
        deployment = self.loaded.pop(name, None)
        if deployment is not None:
            await deployment.close()
            log.info("endpoint %s unloaded", name)
        for listener in self._listeners:
            await listener(name, None, None)

    async def sync(self, name: str) -> None:
        """Make this process's state of ``name`` match its document (after another process changed it)."""
        try:
            doc = await self.handle.store.get(name, Params())
        except NotFound:
            doc = None
        status = doc.get("status") if doc else None
        if doc is None or status in ("stopped", "failed"):
            if name in self.loaded or name in self._loading:
                await self.unload(name)
            return
        current = self.loaded.get(name)
        if name not in self._loading and (current is None or current.config != config_of(doc)):
            self.start(doc, record=False)

    async def resume(self) -> None:
        """At start: load every endpoint that was ready or being created (recording the outcome of
        the latter)."""
        docs = await self.handle.store.find(Params(query={"status": {"$in": ["ready", "creating"]}},
                                                  extra={"paginate": False}))
        for doc in docs:
            self.start(doc, record=doc.get("status") == "creating")

    # ------------------------------------------------------------------ serving
    async def get(self, name: str) -> Deployment:
        """The deployment of ``name`` for a prediction: 404 when there is no such endpoint, 503 while
        it loads (or without onnxruntime), 409 when it failed or is stopped."""
        deployment = self.loaded.get(name)
        if deployment is not None:
            return deployment
        try:
            doc = await self.handle.store.get(name, Params())
        except NotFound:
            raise NotFound(f"Endpoint '{name}' not found", errors={"endpoint": "not found"}) from None
        require_onnxruntime()
        status = doc.get("status")
        if status == "failed":
            raise Conflict(f"Endpoint '{name}' failed: {doc.get('error') or 'unknown error'}")
        if status == "stopped":
            raise Conflict(f"Endpoint '{name}' is stopped (patch its status to \"creating\" to start it again)")
        if status == "creating":
            raise Unavailable(f"Endpoint '{name}' is loading its model; try again shortly")
        # Ready: loading here (at start), or made by another process that could not tell this one
        # (no Redis): wait for this process's load.
        task = self._loading.get(name) or self.start(doc, record=False)
        deployment = await asyncio.shield(task)
        if deployment is None:
            raise Unavailable(f"Endpoint '{name}' could not be loaded by this server")
        return deployment

    async def close(self) -> None:
        self._closed = True
        for task in list(self._loading.values()):
            task.cancel()
        await asyncio.gather(*self._loading.values(), return_exceptions=True)
        for name in list(self.loaded):
            deployment = self.loaded.pop(name)
            await deployment.close()


def _labels(doc: dict[str, Any]) -> list[str] | None:
    return labels_of(doc.get("labels"))
