"""A replica that loses a conversion lease stops, and its late writes publish and overwrite nothing.

Two servers in this process share one data dir (one SQLite file, one blob folder), as two replicas
would. Each manager gets a fake converter (it writes a tiny file at once, or waits at a gate the
test holds), so the lease, the conditional writes and the publication run for real without
TensorFlow. Replica B takes the lease over exactly as its claim does once A's lease looks expired
to it: A's database was out of reach for longer than the lease, or B's clock runs ahead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from backend.hooklib.timestamps import iso_at as iso
from backend.hooks import HookContext, Params
from services.conversion import TFJS_LAYERS_MODEL, ConversionJob, ConversionResult
from services.models.conversion import OUTPUT_SERVICE, RESERVED, TARGETS, ConversionManager
from services.models.lease import LEASE_FIELD
from tests.services.files.support import post_form, stored_files
from tests.support.inprocess import Running, running
from tests.support.model_files import keras_zip

SHORT = "[conversion]\nlease = 0.6\n"  # the heartbeat renews every 0.2 s
LONG = "[conversion]\nlease = 60\n"  # no renewal and no rescan while a test runs


class FakeConverter:
    """Converts a job into one small file; a target whose gate is closed waits there first."""

    def __init__(self) -> None:
        self.gates = {target: asyncio.Event() for target in TARGETS}
        for gate in self.gates.values():
            gate.set()
        self.started: list[str] = []
        self.cancelled: list[str] = []

    def hold(self, target: str) -> None:
        self.gates[target].clear()

    async def __call__(self, job: ConversionJob) -> ConversionResult:
        self.started.append(job.target)
        try:
            await self.gates[job.target].wait()
        except asyncio.CancelledError:
            self.cancelled.append(job.target)
            raise
        out = Path(job.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / ("model.json" if job.target == "tfjs" else "model.onnx")
        path.write_bytes(b"{}")
        return ConversionResult(job.job_id, job.target, files=[str(path)],
                                tfjs_model_format=TFJS_LAYERS_MODEL if job.target == "tfjs" else None)


@dataclass
class Replica:
    """One server, its fake converter, and the ``conversions`` it wrote (from its ``patched`` events)."""

    srv: Running
    converter: FakeConverter
    written: list[dict[str, Any]] = field(default_factory=list)

    @property
    def manager(self) -> ConversionManager:
        return self.srv.app.extensions.get(ConversionManager)

    def keras(self) -> Any:
        return self.srv.app.service("keras-models").store


@asynccontextmanager
async def replicas(data: Path, config_a: str, config_b: str) -> AsyncIterator[tuple[Replica, Replica]]:
    data.mkdir()  # running() writes each config there before the server reads it
    async with running(data, config=config_a) as srv_a, running(data, config=config_b) as srv_b:
        pair = Replica(srv_a, FakeConverter()), Replica(srv_b, FakeConverter())
        for replica in pair:
            replica.manager.converter = replica.converter

            def record(doc: dict[str, Any], _: HookContext, into: list[dict[str, Any]] = replica.written) -> None:
                into.append(doc["conversions"])

            replica.srv.app.service("keras-models").on("patched", record)
        yield pair


async def create_keras(http: aiohttp.ClientSession, replica: Replica) -> dict[str, Any]:
    """Upload a (fake) Keras file and create its document through ``replica``, which queues it."""
    status, pairs = await post_form(http, f"{replica.srv.url}/keras-models/upload",
                                    ("model.keras", "m.keras", keras_zip()))
    assert status == 200
    async with http.post(f"{replica.srv.url}/keras-models", json={"name": "k", "files": pairs}) as r:
        assert r.status == 201
        return await r.json()  # type: ignore[no-any-return]


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def take_over(winner: Replica, doc_id: str, *, queue: bool = True) -> None:
    """Write what ``winner``'s claim writes on an expired lease (the other replica's own clock and
    database see it as still held), then let it convert the document."""
    leases = winner.manager.leases
    lease = {"owner": leases.owner, "until": iso(time.time() + leases.seconds)}
    await winner.keras().patch(doc_id, {LEASE_FIELD: lease}, Params())
    if queue:
        winner.manager.queue(doc_id)


async def check_converted_once(replica: Replica, doc_id: str, data: Path) -> dict[str, Any]:
    """One result document per format, the ones ``conversions`` names; the lease released; every
    stored result file belongs to a result document (no stray copy). Returns the Keras document."""
    doc = await replica.keras().get(doc_id, Params())
    assert doc[LEASE_FIELD] is None
    assert {t: c["status"] for t, c in doc["conversions"].items()} == {"tfjs": "done", "onnx": "done"}
    referenced = set()
    for target, namespace in OUTPUT_SERVICE.items():
        adapter = replica.srv.app.service(namespace).service
        results = await adapter.find(Params(query={"source": doc_id}, extra={"paginate": False}))
        assert [r["_id"] for r in results] == [doc["conversions"][target]["modelId"]]
        for result in await adapter.find(Params(extra={"paginate": False})):
            referenced |= {f"{namespace}/{ref}" for _, ref in result["files"]}
    stored = {"/".join(name.split("/")[-3:]) for name in stored_files(data)
              if name.split("/")[-3] in OUTPUT_SERVICE.values()}
    assert stored == referenced
    return doc


def statuses(written: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{t: c["status"] for t, c in conversions.items()} for conversions in written]


async def test_a_replica_that_loses_the_lease_is_cancelled_and_the_new_holder_converts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with replicas(data, SHORT, SHORT) as (a, b), aiohttp.ClientSession() as http:
        a.converter.hold("tfjs")
        doc = await create_keras(http, a)
        task = a.manager._tasks[doc["_id"]]
        await until(lambda: a.converter.started == ["tfjs"])
        reserved = a.written[-1]["tfjs"][RESERVED]
        await take_over(b, doc["_id"])
        await until(lambda: task.done())  # A's next renewal finds B's lease: A's conversion is cancelled
        await b.manager.wait_idle()
        assert a.converter.cancelled == ["tfjs"] and sorted(b.converter.started) == ["onnx", "tfjs"]
        assert not task.cancelled() and task.exception() is None  # the job ended, not A's task machinery
        final = await check_converted_once(b, doc["_id"], data)
        assert final["conversions"]["tfjs"]["modelId"] == reserved  # B published under A's reservation
        # A recorded only its start, and nobody recorded an error.
        assert statuses(a.written) == [{"tfjs": "running", "onnx": "pending"}]
        assert all("error" not in s.values() for s in statuses(a.written + b.written))
        # A's manager is in a sane state: its next job runs to the end.
        a.converter.gates["tfjs"].set()
        second = await create_keras(http, a)
        await a.manager.wait_idle()
        await check_converted_once(a, second["_id"], data)


@pytest.mark.parametrize("order", ["new-holder-first", "loser-first", "loser-before-the-new-holder-starts"])
async def test_a_loser_that_has_not_noticed_publishes_no_duplicate_and_overwrites_nothing(
    tmp_path: Path, order: str
) -> None:
    """A's heartbeat sleeps for 20 s: it goes on converting after B took the lease, and its
    publication races B's. The database keeps one result per format, and A's patches match nothing."""
    data = tmp_path / "data"
    async with replicas(data, LONG, LONG) as (a, b), aiohttp.ClientSession() as http:
        a.converter.hold("tfjs")
        doc = await create_keras(http, a)
        await until(lambda: a.converter.started == ["tfjs"])
        if order == "new-holder-first":
            await take_over(b, doc["_id"])
            await b.manager.wait_idle()
            a.converter.gates["tfjs"].set()  # A publishes after B: same id, so A's copy is refused
            await a.manager.wait_idle()
        elif order == "loser-first":
            b.converter.hold("tfjs")
            await take_over(b, doc["_id"])
            await until(lambda: b.converter.started == ["tfjs"])
            a.converter.gates["tfjs"].set()  # A publishes first, then cannot record it
            await a.manager.wait_idle()
            b.converter.gates["tfjs"].set()  # B's copy is refused; B records A's document
            await b.manager.wait_idle()
        else:
            await take_over(b, doc["_id"], queue=False)
            a.converter.gates["tfjs"].set()
            await a.manager.wait_idle()
            b.manager.queue(doc["_id"])  # B finds A's document under the reserved id: nothing to convert
            await b.manager.wait_idle()
            assert b.converter.started == ["onnx"]
        final = await check_converted_once(b, doc["_id"], data)
        assert a.converter.started == ["tfjs"]  # A stopped at its first refused write
        assert statuses(a.written) == [{"tfjs": "running", "onnx": "pending"}]
        assert statuses(b.written)[-1] == {"tfjs": "done", "onnx": "done"}
        assert b.written[-1] == final["conversions"]  # B's record stands
        assert all("error" not in s.values() for s in statuses(a.written + b.written))
