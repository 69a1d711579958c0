"""``inference-jobs``: batch inference over many instances (SBrain's ``ModelInferenceJob``).

A job ``{name, description, endpoint, instances}`` runs in the process that stored it, as an asyncio
task feeding the endpoint's batcher ``[serving] max_batch`` instances at a time. The server sets
``model`` to the endpoint's model when the job is submitted. The document is the job's state:
``status`` (``queued`` → ``running`` → ``done`` | ``failed`` | ``cancelled``), ``progress: {done,
total}`` patched as chunks finish (clients watch the ``inference-jobs patched`` events), then
``predictions`` (one per instance) or ``error``. A client cancels a job by patching its ``status``
to ``cancelled``. A job cut short by a restart is run again from the start by the next process to
start. (Dask runs Plume's long jobs in later work; an inference job is short and needs the loaded
endpoint, so it runs beside it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from backend.app import App, ServiceHandle
from backend.errors import BadRequest, Conflict, FeathersError, NotFound
from backend.hooks import HookContext, Params

from .deployments import Deployments
from .queue import EmbeddedQueue

log = logging.getLogger(__name__)
PATH = "inference-jobs"
FINISHED = ("done", "failed", "cancelled")
PROGRESS_EVERY = 0.25  # seconds between progress patches
SERVER_FIELDS = ("progress", "predictions", "error", "model")


class InferenceJobs:
    """Runs the jobs of this process (see the module docstring)."""

    def __init__(self, app: App, deployments: Deployments, queue: EmbeddedQueue, chunk: int) -> None:
        self.app = app
        self.deployments = deployments
        self.queue = queue
        self.chunk = chunk
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def handle(self) -> ServiceHandle:
        return self.app.service(PATH)

    def hooks(self) -> dict[str, Any]:
        async def prepare(ctx: HookContext) -> None:
            if not isinstance(ctx.data, dict):
                return
            name = ctx.data.get("endpoint")
            try:
                endpoint = await self.deployments.handle.store.get(name, Params())
            except NotFound:
                raise NotFound(f"Endpoint '{name}' not found", errors={"endpoint": "not found"}) from None
            user = ctx.params.user or {}
            # The model the job runs is the endpoint's at submission (SBrain's model_id): the
            # endpoint may serve another model later, the job's record stays true.
            ctx.data.update({"status": "queued", "predictions": None, "error": None, "model": endpoint.get("model"),
                             "progress": {"done": 0, "total": len(ctx.data["instances"])}})
            ctx.data.setdefault("name", f"inference-{name}")
            ctx.data.setdefault("description", "")
            ctx.data.setdefault("author", user.get("email") or user.get("name"))

        async def protect(ctx: HookContext) -> None:
            if ctx.params.provider is None or not isinstance(ctx.data, dict):
                return
            for name in SERVER_FIELDS:
                ctx.data.pop(name, None)
            if "instances" in ctx.data or "endpoint" in ctx.data:
                raise BadRequest("a job's endpoint and instances cannot change: submit another job")
            status = ctx.data.get("status")
            if status is not None and status != "cancelled":
                raise BadRequest("status may only be set to 'cancelled'", errors={"status": "written by the server"})
            if ctx.method == "update":
                raise BadRequest("jobs are changed with patch (status: cancelled)")
            if status == "cancelled" and ctx.id is not None:
                current = await ctx.service.store.get(ctx.id, Params())
                if current.get("status") in FINISHED:
                    raise Conflict(f"job {ctx.id} is {current['status']} already: it cannot be cancelled",
                                   errors={"status": current["status"]})
                # ... and not in between either: the write holds only while the job is unfinished.
                ctx.params.query = {**ctx.params.query, "status": {"$nin": list(FINISHED)}}

        async def finished_meanwhile(ctx: HookContext) -> None:
            # The conditional cancel found no unfinished job: it finished (or was removed) in between.
            if isinstance(ctx.error, NotFound) and isinstance(ctx.data, dict) and ctx.data.get("status") == "cancelled":
                with contextlib.suppress(NotFound):
                    current = await ctx.service.store.get(ctx.id, Params())
                    ctx.error = Conflict(f"job {ctx.id} is {current.get('status')} already: it cannot be cancelled",
                                         errors={"status": current.get("status")})

        async def started(ctx: HookContext) -> None:
            if isinstance(ctx.result, dict):
                self.start(ctx.result)

        async def cancelled(ctx: HookContext) -> None:
            for doc in ctx.result if isinstance(ctx.result, list) else [ctx.result]:
                if isinstance(doc, dict) and (ctx.method == "remove" or doc.get("status") == "cancelled"):
                    task = self._tasks.get(str(doc["_id"]))
                    if task is not None:
                        task.cancel()

        return {"before": {"create": [prepare], "update": [protect], "patch": [protect]},
                "after": {"create": [started], "patch": [cancelled], "remove": [cancelled]},
                "error": {"patch": [finished_meanwhile]}}

    def start(self, doc: dict[str, Any]) -> None:
        job_id = str(doc["_id"])
        if job_id in self._tasks:
            return
        task = asyncio.create_task(self._run(doc), name=f"inference-job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _patch(self, job_id: str, data: dict[str, Any]) -> bool:
        """Patch the job unless it was cancelled or removed meanwhile (False then)."""
        try:
            await self.handle.patch(job_id, data, Params(query={"status": {"$nin": list(FINISHED)}}))
        except NotFound:
            return False
        return True

    async def _run(self, doc: dict[str, Any]) -> None:
        job_id, instances = str(doc["_id"]), doc.get("instances") or []
        predictions: list[Any] = []
        try:
            if not await self._patch(job_id, {"status": "running"}):
                return
            last = time.monotonic()
            for start in range(0, len(instances), self.chunk):
                chunk = instances[start:start + self.chunk]
                predictions += await asyncio.gather(
                    *(self.queue.predict_one(str(doc["endpoint"]), instance) for instance in chunk))
                if time.monotonic() - last >= PROGRESS_EVERY and start + len(chunk) < len(instances):
                    last = time.monotonic()
                    if not await self._patch(job_id, {"progress": {"done": len(predictions), "total": len(instances)}}):
                        return
            await self._patch(job_id, {"status": "done", "predictions": predictions,
                                       "progress": {"done": len(predictions), "total": len(instances)}})
        except asyncio.CancelledError:
            return  # cancelled by its client (status already cancelled), or the server stops (resumed later)
        except FeathersError as exc:
            await self._patch(job_id, {"status": "failed", "error": f"instance {len(predictions)}: {exc.message}",
                                       "progress": {"done": len(predictions), "total": len(instances)}})
        except Exception as exc:
            log.exception("inference job %s failed", job_id)
            await self._patch(job_id, {"status": "failed", "error": f"internal error: {type(exc).__name__}"})

    async def resume(self) -> None:
        docs = await self.handle.store.find(Params(query={"status": {"$in": ["queued", "running"]}},
                                                  extra={"paginate": False}))
        for doc in docs:
            self.start(doc)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
