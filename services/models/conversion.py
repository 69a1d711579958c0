"""Run the conversions of ``keras-models`` documents through the conversion worker pool.

One task per Keras document: it copies the uploaded file out of the blob store, runs each pending
target in the :class:`~services.conversion.ConversionPool` (TensorFlow lives only in the spawned
worker), stores the produced files as a normal ``tfjs-models``/``onnx-models`` document with
``source: <keras id>``, and patches ``conversions`` through the service at each step so that
realtime clients watch it progress. The document is the job's only record: a job cut short by a
shutdown is still ``pending``/``running`` there and is resumed at the next start.

A task converts only while it holds the document's lease (:mod:`.lease`); losing it cancels the
task, and each ``conversions`` patch is conditional on the lease, so a replica that lost it without
noticing yet changes nothing. A result document is published under an id reserved beforehand in
``conversions.<target>.reservedId`` (by a lease-conditional patch): whoever converts the target
next publishes under the same id, so the database lets exactly one such document exist, and a
document already published there (by a replica that lost the lease, or crashed, before recording
it) is adopted instead of being made twice.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.app import App, ServiceHandle
from backend.errors import Conflict, NotFound
from backend.hooks import Params
from backend.instances import instance_name, sweep
from backend.storage.base import new_id
from backend.storage.blobs import BlobStore
from services.conversion import (
    TFJS_LAYERS_MODEL,
    ConversionJob,
    ConversionPool,
    ConversionResult,
    PoolClosedError,
)
from services.files.cleanup import delete_keys
from services.files.config import number, section
from services.files.names import blob_key

from .files import accept_keras, file_pairs
from .lease import Leases

log = logging.getLogger(__name__)
TARGETS = ("tfjs", "onnx")
UNFINISHED = ("pending", "running")
OUTPUT_SERVICE = {"tfjs": "tfjs-models", "onnx": "onnx-models"}
CHUNK = 256 * 1024
RESERVED = "reservedId"  # in a running conversions entry: the id its result document will have
Converter = Callable[[ConversionJob], Awaitable[ConversionResult]]


@dataclass(frozen=True)
class PoolSettings:
    """``[conversion]``: worker processes, recycling, time limits and the document lease (seconds)."""

    workers: int = 1
    max_jobs_per_worker: int = 50
    job_timeout: float = 300.0
    startup_timeout: float = 120.0
    lease: float = 60.0  # a crashed process's jobs are taken over after this (see .lease)

    @classmethod
    def from_settings(cls, settings: Any) -> PoolSettings:
        """Read and validate ``[conversion]`` (ConfigError on a bad value)."""
        table = section(settings, "conversion",
                        {"workers", "max_jobs_per_worker", "job_timeout", "startup_timeout", "lease"})
        return cls(
            workers=number(table, "conversion", "workers", cls.workers),
            max_jobs_per_worker=number(table, "conversion", "max_jobs_per_worker", cls.max_jobs_per_worker),
            job_timeout=float(number(table, "conversion", "job_timeout", cls.job_timeout, integer=False)),
            startup_timeout=float(number(table, "conversion", "startup_timeout", cls.startup_timeout, integer=False)),
            lease=float(number(table, "conversion", "lease", cls.lease, integer=False)),
        )


def unfinished_targets(doc: dict[str, Any]) -> list[str]:
    """Targets of ``doc`` whose conversion has not ended (``pending`` or ``running``)."""
    conversions = doc.get("conversions")
    if not isinstance(conversions, dict):
        return []
    return [t for t in TARGETS if isinstance(conversions.get(t), dict) and conversions[t].get("status") in UNFINISHED]


class ConversionManager:
    """Queues conversions of Keras documents and records their progress on the documents."""

    def __init__(self, app: App, blobs: BlobStore, pool_settings: PoolSettings, work_dir: Path) -> None:
        self.app = app
        self.blobs = blobs
        self.pool_settings = pool_settings
        # Processes may share a data dir: each keeps its job copies in its own folder (see backend.instances).
        self.work_root = work_dir
        self.work_dir = work_dir / instance_name()
        self._pool: ConversionPool | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Jobs handed to the pool at once: enough to keep every worker busy, never more than its queue.
        self._slots = asyncio.Semaphore(2 * pool_settings.workers)
        self._closed = False
        self.leases = Leases(lambda: app.service("keras-models").store, f"{instance_name()}-{new_id()}",
                             pool_settings.lease)
        self._rescan: asyncio.Task[None] | None = None
        # Runs one job; None means the worker pool. Tests put a fast stand-in here.
        self.converter: Converter | None = None

    @property
    def pool(self) -> ConversionPool:
        """The worker pool, created on first use (its workers start with the first job)."""
        if self._pool is None:
            s = self.pool_settings
            self._pool = ConversionPool(workers=s.workers, max_jobs_per_worker=s.max_jobs_per_worker,
                                        job_timeout=s.job_timeout, startup_timeout=s.startup_timeout,
                                        max_queued=2 * s.workers + 1)
        return self._pool

    def queue(self, doc_id: str) -> None:
        """Convert the unfinished targets of Keras document ``doc_id`` in the background."""
        if self._closed or doc_id in self._tasks:
            return
        task = asyncio.create_task(self._convert_doc(doc_id), name=f"keras-conversion-{doc_id}")
        self._tasks[doc_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(doc_id, None))

    async def wait_idle(self) -> None:
        """Wait until no conversion is queued or running (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def resume(self) -> None:
        """Queue every document left ``pending``/``running`` by a previous run, then rescan now and
        then for documents whose lease a crashed replica left to expire."""
        await asyncio.to_thread(sweep, self.work_root)  # copies left by processes that are gone
        await self.queue_unfinished()
        if self._rescan is None and not self._closed:
            self._rescan = asyncio.create_task(self._rescan_forever(), name="keras-conversion-rescan")

    async def _rescan_forever(self) -> None:
        while True:
            await asyncio.sleep(self.pool_settings.lease)
            try:
                await self.queue_unfinished()
            except Exception:
                log.exception("could not look for unfinished keras conversions")

    async def queue_unfinished(self) -> None:
        """Queue the documents with a ``pending``/``running`` target (each task claims its document)."""
        adapter = self.app.service("keras-models").store
        query = {"$or": [{f"conversions.{t}.status": {"$in": list(UNFINISHED)}} for t in TARGETS]}
        docs = await adapter.find(Params(query=query, extra={"paginate": False}))
        for doc in docs:
            if unfinished_targets(doc) and str(doc[adapter.id_field]) not in self._tasks:
                log.info("resuming the conversion of keras model %s", doc[adapter.id_field])
                self.queue(str(doc[adapter.id_field]))

    async def close(self) -> None:
        """Stop: cancel the document tasks (their documents stay resumable), then stop the workers."""
        self._closed = True
        tasks = [*self._tasks.values(), *([self._rescan] if self._rescan else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
        await asyncio.to_thread(shutil.rmtree, self.work_dir, ignore_errors=True)

    # ------------------------------------------------------------------ one document
    async def _convert_doc(self, doc_id: str) -> None:
        async with self.leases.held(doc_id) as mine:
            if mine:
                await self._convert_claimed(doc_id)
            else:
                log.debug("keras model %s is converted by another process", doc_id)

    async def _convert_claimed(self, doc_id: str) -> None:
        keras = self.app.service("keras-models")
        job_dir = self.work_dir / new_id()  # never the document id: clients may choose ids like "../x"
        state: dict[str, Any] = {}
        try:
            doc = await keras.get(doc_id)
            state = {k: dict(v) for k, v in (doc.get("conversions") or {}).items() if isinstance(v, dict)}
            targets = unfinished_targets(doc)
            if not targets:
                return
            source = next(((f, n) for _, f, n in file_pairs(doc) if accept_keras(n)), None)
            if source is None:
                for target in targets:
                    state[target] = {"status": "error", "error": "the document has no .keras or .h5 file"}
                await self._record(keras, doc_id, state)
                return
            input_path = await self._copy_in(blob_key("keras-models", *source), job_dir, source[1])
            for target in targets:
                # A previous holder's reservation is kept: its document may exist already.
                state[target] = {"status": "running", RESERVED: state[target].get(RESERVED) or new_id()}
                await self._record(keras, doc_id, state)
                state[target] = await self._convert_one(doc, target, input_path, job_dir / target,
                                                        state[target][RESERVED])
                await self._record(keras, doc_id, state)
        except NotFound:
            log.info("keras model %s was removed, or its lease taken over, during its conversion", doc_id)
        except (asyncio.CancelledError, PoolClosedError):
            raise asyncio.CancelledError from None  # shutting down: the document stays resumable
        except Exception as exc:
            log.exception("conversion of keras model %s failed", doc_id)
            await self._fail_rest(keras, doc_id, state, f"internal error: {exc}")
        finally:
            await asyncio.shield(asyncio.to_thread(shutil.rmtree, job_dir, ignore_errors=True))

    async def _record(self, keras: ServiceHandle, doc_id: str, state: dict[str, Any]) -> None:
        """Patch ``conversions`` while we hold the lease (NotFound when we lost it or the model is gone):
        a replica that lost it must not overwrite the new holder's progress."""
        await keras.patch(doc_id, {"conversions": state}, Params(query=self.leases.mine()))

    async def _convert_one(self, doc: dict[str, Any], target: str, input_path: Path, out_dir: Path,
                           model_id: str) -> dict[str, Any]:
        """Convert ``target`` and publish it as document ``model_id``: the new ``conversions`` entry."""
        if await self._published(target, model_id, doc):
            return {"status": "done", "modelId": model_id}  # published by a holder that could not record it
        convert = self.converter or self.pool.convert
        doc_id = doc[self._id_field()]
        async with self._slots:
            log.info("conversion of keras model %s to %s started", doc_id, target)
            started = time.perf_counter()
            result = await convert(ConversionJob(str(input_path), target, str(out_dir)))  # type: ignore[arg-type]
        if not result.ok:
            # An upload Keras cannot read is the uploader's business; a crash or a timeout is the server's.
            level = logging.INFO if result.error_kind == "invalid_model" else logging.WARNING
            log.log(level, "conversion of keras model %s to %s failed after %.2f s: %s", doc_id, target,
                    time.perf_counter() - started, result.error)
            return {"status": "error", "error": result.error or "conversion failed"}
        # Shielded: a cancel (lost lease, shutdown) must not cut in between creating the document and
        # deleting the files of one that was not created; we wait for the outcome, then stop.
        publishing = asyncio.ensure_future(
            self._publish(doc, target, [Path(f) for f in result.files], result.tfjs_model_format, model_id))
        try:
            await asyncio.shield(publishing)
        except asyncio.CancelledError:
            await asyncio.wait([publishing])
            raise
        log.info("conversion of keras model %s to %s done in %.2f s: %s %s", doc_id, target,
                 time.perf_counter() - started, OUTPUT_SERVICE[target], model_id)
        return {"status": "done", "modelId": model_id}

    async def _published(self, target: str, model_id: str, doc: dict[str, Any]) -> bool:
        """Whether ``model_id`` is already the ``target`` result of ``doc`` (Conflict if it is another's)."""
        try:
            existing = await self.app.service(OUTPUT_SERVICE[target]).service.get(model_id, Params())
        except NotFound:
            return False
        if existing.get("source") != str(doc[self._id_field()]):
            raise Conflict(f"{OUTPUT_SERVICE[target]} {model_id} exists and is not converted from this model")
        return True

    async def _fail_rest(self, keras: ServiceHandle, doc_id: str, state: dict[str, Any], message: str) -> None:
        """Mark every unfinished target as failed, so no document stays ``running`` forever."""
        for target, entry in state.items():
            if entry.get("status") in UNFINISHED:
                state[target] = {"status": "error", "error": message}
        try:
            await self._record(keras, doc_id, state)
        except NotFound:
            log.info("keras model %s was removed, or its lease taken over, during its conversion", doc_id)
        except Exception:
            log.exception("could not record the failed conversion of keras model %s", doc_id)

    async def _copy_in(self, key: str, job_dir: Path, name: str) -> Path:
        """Copy the uploaded model out of the blob store (Keras only loads real ``.keras``/``.h5`` paths).

        Disk work runs on a thread, chunk by chunk: the event loop never waits on the disk.
        """
        await asyncio.to_thread(job_dir.mkdir, parents=True, exist_ok=True)
        path = job_dir / ("model" + Path(name).suffix.lower())
        out = await asyncio.to_thread(path.open, "wb")
        try:
            async for chunk in self.blobs.open(key):
                await asyncio.to_thread(out.write, chunk)
        finally:
            await asyncio.to_thread(out.close)
        return path

    async def _publish(self, doc: dict[str, Any], target: str, files: list[Path], tfjs_format: str | None,
                       model_id: str) -> None:
        """Store the produced files and create the ``tfjs-models``/``onnx-models`` document ``model_id``
        (or adopt the one another process published under that id: then ours are not needed)."""
        namespace = OUTPUT_SERVICE[target]
        folder = new_id()
        keys: list[str] = []
        try:
            for path in files:
                keys.append(blob_key(namespace, folder, path.name))
                await self.blobs.put(keys[-1], _read_file(path))
            metadata = dict(doc.get("metadata") or {})
            if target == "tfjs":
                metadata["tfjsModelFormat"] = tfjs_format or TFJS_LAYERS_MODEL
            service = self.app.service(namespace)
            record: dict[str, Any] = {service.store.id_field: model_id,
                                      "files": [[p.name, f"{folder}/{p.name}"] for p in files], "format": target,
                                      "metadata": metadata, "source": str(doc[self._id_field()])}
            if isinstance(doc.get("name"), str):
                record["name"] = doc["name"]
            for field in (self.app.owner_field, "public"):  # the outputs belong to the Keras model's owner
                if field and field in doc:
                    record[field] = doc[field]
            try:
                await service.create(record)
                return
            except Conflict:
                if not await self._published(target, model_id, doc):
                    raise  # gone again already: let the job fail rather than guess
        except BaseException:
            await delete_keys(self.blobs, keys)
            raise
        await delete_keys(self.blobs, keys)  # the adopted document keeps its own files

    def _id_field(self) -> str:
        return self.app.service("keras-models").store.id_field


async def _read_file(path: Path) -> Any:
    """The bytes of ``path`` chunk by chunk, read on a thread (for ``BlobStore.put``)."""
    f = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(f.close)
