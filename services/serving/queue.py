"""The embedded prediction queue: ``serving-requests`` in, ``serving-results`` out (Plume services).

A client creates ``{uri, endpoint, inputs}`` in ``serving-requests``; the process that stored it
answers it through the endpoint's batcher, writes ``{uri, endpoint, status: done | failed, result,
error}`` to ``serving-results`` (replacing an earlier answer to the same uri) and removes the
request. Results stay until a client removes them (dequeues) or for ``[serving] result_ttl``
seconds. Requests left by a stopped process are answered by the next one to start, or by any
process's rescan once they are ``claim_idle`` seconds old (a conditional patch claims each one,
so no request is answered by two processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from backend.app import App, ServiceHandle
from backend.errors import FeathersError, NotFound, Unavailable
from backend.hooklib.timestamps import iso_at
from backend.hooks import HookContext, Params
from backend.instances import instance_name

from .decode import feeds_of
from .deployments import Deployments
from .predictions import predictions_of
from .settings import ServingSettings

log = logging.getLogger(__name__)
REQUESTS = "serving-requests"
RESULTS = "serving-results"
LOADING_WAIT = 60.0  # seconds a request waits for its endpoint to finish loading
START_AGE = 1.0  # seconds: at start, requests older than this are taken over


class EmbeddedQueue:
    """Answers ``serving-requests`` (see the module docstring)."""

    def __init__(self, app: App, deployments: Deployments, settings: ServingSettings) -> None:
        self.app = app
        self.deployments = deployments
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def requests(self) -> ServiceHandle:
        return self.app.service(REQUESTS)

    @property
    def results(self) -> ServiceHandle:
        return self.app.service(RESULTS)

    def hooks(self) -> dict[str, Any]:
        """The hook spec of ``serving-requests``: check the endpoint, then answer in the background."""

        async def accept(ctx: HookContext) -> None:
            for item in ctx.data if isinstance(ctx.data, list) else [ctx.data]:
                if not isinstance(item, dict):
                    continue
                name = item.get("endpoint")
                if isinstance(name, str) and name not in self.deployments.loaded:
                    try:
                        await self.deployments.handle.store.get(name, Params())
                    except NotFound:
                        raise NotFound(f"Endpoint '{name}' not found", errors={"endpoint": "not found"}) from None
                item.update({"status": "queued", "result": None, "error": None})

        async def answer(ctx: HookContext) -> None:
            for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
                if isinstance(doc, dict):
                    self.submit(doc)

        return {"before": {"create": [accept]}, "after": {"create": [answer]}}

    def submit(self, doc: dict[str, Any]) -> None:
        task = asyncio.create_task(self._process(doc), name=f"serving-request-{doc.get('_id')}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def predict_one(self, endpoint: str, inputs: Any) -> Any:
        """One instance's prediction (waits while the endpoint loads)."""
        deadline = time.monotonic() + LOADING_WAIT
        while True:
            try:
                deployment = await self.deployments.get(endpoint)
                break
            except Unavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)
        feeds, rows = feeds_of([inputs], deployment.inputs, deployment.image_scale)
        outputs = await deployment.run(feeds, rows)
        return predictions_of(outputs, deployment.outputs, deployment.labels, deployment.top_n)[0]

    async def _process(self, doc: dict[str, Any]) -> None:
        uri, endpoint = doc.get("uri"), str(doc.get("endpoint"))
        result: dict[str, Any] = {"uri": uri, "endpoint": endpoint, "request": str(doc["_id"])}
        try:
            result.update(status="done", result=await self.predict_one(endpoint, doc.get("inputs")), error=None)
        except FeathersError as exc:
            result.update(status="failed", result=None, error=f"{exc.name}: {exc.message}")
        except Exception as exc:
            log.exception("queue request %s of endpoint %s failed", uri, endpoint)
            result.update(status="failed", result=None, error=f"GeneralError: {type(exc).__name__}")
        try:
            await self.results.remove(None, Params(query={"endpoint": endpoint, "uri": uri}))
            await self.results.create(result)
            await self.requests.remove(doc["_id"])
        except NotFound:
            pass  # the request was removed (cancelled) meanwhile
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not store the answer to queue request %s of endpoint %s", uri, endpoint)

    # ------------------------------------------------------------------ restarts and expiry
    async def claim_left(self, older_than: float) -> None:
        """Answer the requests that stopped processes left: those untouched for ``older_than`` seconds
        (at start, any but the newest: another live process may be answering those)."""
        query = {"updatedAt": {"$lt": iso_at(time.time() - older_than)}}
        docs = await self.requests.store.find(Params(query=query, extra={"paginate": False}))
        for doc in docs:
            try:  # a conditional patch: of several processes, one claims the request
                claimed = await self.requests.store.patch(
                    doc["_id"], {"status": "running", "worker": instance_name(), "updatedAt": iso_at(time.time())},
                    Params(query={"updatedAt": doc.get("updatedAt")}))
            except NotFound:
                continue
            self.submit(claimed)

    async def start(self) -> None:
        await self.claim_left(START_AGE)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="serving-queue-sweeper")

    async def _sweep_forever(self) -> None:
        every = min(self.settings.result_ttl / 2, self.settings.claim_idle, 60.0)
        while True:
            await asyncio.sleep(every)
            try:
                await self.expire()
                await self.claim_left(self.settings.claim_idle)
            except Exception:
                log.exception("the serving queue's sweep failed")

    async def expire(self) -> None:
        """Remove the results older than ``result_ttl``."""
        cutoff = iso_at(time.time() - self.settings.result_ttl)
        await self.results.remove(None, Params(query={"createdAt": {"$lt": cutoff}}))

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, *([self._sweeper] if self._sweeper else []), return_exceptions=True)
