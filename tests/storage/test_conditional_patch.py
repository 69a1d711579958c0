"""``patch(id, data, {query})`` tests the query and writes in one step: of concurrent claims, one wins.

Over every adapter (memory, SQLite, mongomock). Across processes it is checked in ``tests/test_scaleout.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.errors import NotFound
from backend.hooks import Params
from backend.storage import Storage, open_storage
from backend.storage.base import AdapterOptions, StorageAdapter


@pytest.fixture(params=["memory", "sqlite", "mongomock"])
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageAdapter]:
    url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path}/t.sqlite3",
           "mongomock": f"mongomock://localhost/claims_{uuid.uuid4().hex[:8]}"}[request.param]
    storage: Storage = open_storage(url)
    a = storage.adapter("claims", AdapterOptions())
    await a.setup(None, "claims")
    yield a
    await storage.close()


async def test_concurrent_claims_have_one_winner(adapter: StorageAdapter) -> None:
    rec = await adapter.create({"job": "convert", "owner": None}, Params())

    async def claim(i: int) -> int | None:
        try:
            await adapter.patch(rec["_id"], {"owner": i, "since": i}, Params(query={"owner": None}))
        except NotFound:
            return None
        return i

    winners = [w for w in await asyncio.gather(*(claim(i) for i in range(32))) if w is not None]
    assert len(winners) == 1
    stored = await adapter.get(rec["_id"], Params())
    assert stored["owner"] == stored["since"] == winners[0] and stored["job"] == "convert"


async def test_patch_returns_what_is_stored(adapter: StorageAdapter) -> None:
    rec = await adapter.create({"a": 1, "keep": {"x": [1, 2]}}, Params())
    # Two patches of different fields at once: the answer of each is the record as stored after it.
    first, second = await asyncio.gather(adapter.patch(rec["_id"], {"b": 2}, Params()),
                                         adapter.patch(rec["_id"], {"c": 3}, Params()))
    stored = await adapter.get(rec["_id"], Params())
    assert {k: stored[k] for k in ("a", "b", "c", "keep")} == {"a": 1, "b": 2, "c": 3, "keep": {"x": [1, 2]}}
    assert first["b"] == 2 and second["c"] == 3
    odd = {'q"uote': 1, "back\\slash": 2, "a.b": 3, "ünï": None}  # names a JSON path cannot hold: merged in Python
    out = await adapter.patch(rec["_id"], odd, Params(query={"a": 1, "$select": ["ünï", "a"]}))
    assert out == {"_id": rec["_id"], "ünï": None, "a": 1}
    stored = await adapter.get(rec["_id"], Params())
    assert {k: stored[k] for k in odd} == odd
    with pytest.raises(NotFound):
        await adapter.patch(rec["_id"], {"z": 1}, Params(query={"a": 2}))
    assert "z" not in await adapter.get(rec["_id"], Params())
