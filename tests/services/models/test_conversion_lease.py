"""Several processes on one database: a pending Keras conversion is done once, by whoever claims it.

Two servers in this process share one data dir (one SQLite file, one blob folder), as two replicas
would; the conversion itself is replaced by a recorder, since the claim is what is under test.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from backend.hooklib.timestamps import iso_at as iso
from backend.hooks import Params
from backend.storage import SqliteStorage
from backend.storage.base import AdapterOptions
from services.models.conversion import ConversionManager
from services.models.lease import LEASE_FIELD, Leases
from tests.services.files.support import post_form
from tests.support.inprocess import running
from tests.support.model_files import keras_zip


async def expire(adapter: Any, doc_id: str) -> None:
    """Move the lease's end into the past, as time passing (or another replica's clock running ahead)
    would: the test need not wait for it."""
    lease = (await adapter.get(doc_id, Params()))[LEASE_FIELD]
    await adapter.patch(doc_id, {LEASE_FIELD: {**lease, "until": iso(time.time() - 1)}}, Params())


async def test_leases_over_one_sqlite_file(tmp_path: Path) -> None:
    one, two = (SqliteStorage(f"sqlite:///{tmp_path}/shared.sqlite3") for _ in range(2))
    a, b = one.adapter("keras-models", AdapterOptions()), two.adapter("keras-models", AdapterOptions())
    await a.setup(None, "keras-models")
    doc = await a.create({"name": "k"}, Params())
    first, second = Leases(lambda: a, "first", 30), Leases(lambda: b, "second", 30)
    before = time.time()
    assert await first.claim(doc["_id"]) and not await second.claim(doc["_id"])
    lease = (await b.get(doc["_id"], Params()))[LEASE_FIELD]
    assert lease["owner"] == "first" and iso(before + 30) <= lease["until"] <= iso(time.time() + 30)
    assert await first.claim(doc["_id"]) and await first.renew(doc["_id"])  # our own lease: still ours
    await expire(a, doc["_id"])  # expired: the other process may take it over
    assert await second.claim(doc["_id"]) and not await first.renew(doc["_id"])
    await first.release(doc["_id"])  # not first's any more: a no-op
    assert (await b.get(doc["_id"], Params()))[LEASE_FIELD]["owner"] == "second"
    await second.release(doc["_id"])
    assert (await a.get(doc["_id"], Params()))[LEASE_FIELD] is None
    assert not await first.claim("f" * 24)  # no such document
    await one.close()
    await two.close()


class Reachable:
    """An adapter whose writes fail while ``down`` (the database out of this process's reach)."""

    def __init__(self, adapter: Any) -> None:
        self.adapter, self.down = adapter, False

    async def patch(self, *args: Any) -> Any:
        if self.down:
            raise OSError("database unavailable")
        return await self.adapter.patch(*args)


async def hold_until_cancelled(leases: Leases, doc_id: str, entered: asyncio.Event) -> float:
    """Hold the lease of ``doc_id`` until held() cancels the block (nothing else ends it); the time
    (``time.time()``) at which the block was cancelled."""
    async with leases.held(doc_id) as mine:
        assert mine
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled_at = time.time()
            raise
    return cancelled_at


async def test_a_lost_lease_cancels_the_block_and_not_the_task(tmp_path: Path) -> None:
    one, two = (SqliteStorage(f"sqlite:///{tmp_path}/shared.sqlite3") for _ in range(2))
    a, b = one.adapter("keras-models", AdapterOptions()), two.adapter("keras-models", AdapterOptions())
    await a.setup(None, "keras-models")
    doc = await a.create({"name": "k"}, Params())
    reach = Reachable(a)
    first, second = Leases(lambda: reach, "first", 0.3), Leases(lambda: b, "second", 0.3)

    # Renewals keep failing: the block stops once the lease has run out, and the task goes on.
    entered = asyncio.Event()
    started = time.time()
    holding = asyncio.create_task(hold_until_cancelled(first, doc["_id"], entered))
    await entered.wait()
    reach.down = True
    cancelled_at = await holding
    assert holding.cancelling() == 0
    assert cancelled_at >= started + 0.3  # not before the lease ran out: a failed renewal alone stops nothing
    while not await second.claim(doc["_id"]):  # expired (by the database's record): taken over
        await asyncio.sleep(0.01)
    reach.down = False

    # Another replica took it (as one whose clock runs ahead would): stopped at the next renewal.
    await second.release(doc["_id"])
    entered = asyncio.Event()
    holding = asyncio.create_task(hold_until_cancelled(first, doc["_id"], entered))
    await entered.wait()
    await b.patch(doc["_id"], {LEASE_FIELD: {"owner": "second", "until": iso(time.time() + 9)}}, Params())
    await holding
    assert holding.cancelling() == 0
    assert (await a.get(doc["_id"], Params()))[LEASE_FIELD]["owner"] == "second"  # not released by first

    # Any other cancellation (a shutdown) still ends the task, and the lease is released.
    await second.release(doc["_id"])
    entered = asyncio.Event()
    holding = asyncio.create_task(hold_until_cancelled(first, doc["_id"], entered))
    await entered.wait()
    holding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holding
    assert (await a.get(doc["_id"], Params()))[LEASE_FIELD] is None
    await one.close()
    await two.close()


def test_iso_sorts_like_time() -> None:
    t = time.time()
    assert iso(t) < iso(t + 0.001) < iso(t + 1) < iso(t + 86400)
    assert len(iso(t)) == len("2026-11-22T11:02:00.123Z") and iso(t).endswith("Z")


async def test_two_replicas_resuming_one_document_convert_it_once(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    managers: list[ConversionManager] = []
    both_queued = asyncio.Event()

    async def fake_convert(self: ConversionManager, doc: dict[str, Any], target: str, *_: Any) -> dict[str, Any]:
        calls.append((self.leases.owner, target))
        (other,) = (m for m in managers if m is not self)
        await both_queued.wait()
        await other.wait_idle()  # the other replica tried to claim the document (and gave up) meanwhile
        return {"status": "done", "modelId": f"fake-{target}"}

    monkeypatch.setattr(ConversionManager, "_convert_one", fake_convert)
    data = tmp_path / "data"
    async with running(data) as srv_a, running(data) as srv_b, aiohttp.ClientSession() as http:
        status, pairs = await post_form(http, f"{srv_a.url}/keras-models/upload",
                                        ("model.keras", "m.keras", keras_zip()))
        assert status == 200
        # A document left pending by a replica that stopped (no lease): both replicas resume it.
        adapter = srv_a.app.service("keras-models").store
        doc = await adapter.create({"name": "k", "format": "keras", "files": pairs, "convert": ["tfjs", "onnx"],
                                    "conversions": {"tfjs": {"status": "pending"}, "onnx": {"status": "pending"}}},
                                   Params())
        managers += [srv.app.extensions.get(ConversionManager) for srv in (srv_a, srv_b)]
        await asyncio.gather(*(m.queue_unfinished() for m in managers))
        both_queued.set()
        for manager in managers:
            await manager.wait_idle()
        assert sorted(t for _, t in calls) == ["onnx", "tfjs"] and len({owner for owner, _ in calls}) == 1
        async with http.get(f"{srv_b.url}/keras-models/{doc['_id']}") as r:
            final = await r.json()
        assert {t: c["status"] for t, c in final["conversions"].items()} == {"tfjs": "done", "onnx": "done"}
        assert final[LEASE_FIELD] is None  # released when done
        # Clients cannot forge or steal the lease.
        async with http.patch(f"{srv_a.url}/keras-models/{doc['_id']}",
                              json={LEASE_FIELD: {"owner": "me", "until": "9999"}, "note": 1}) as r:
            assert r.status == 200 and (await r.json())[LEASE_FIELD] is None
