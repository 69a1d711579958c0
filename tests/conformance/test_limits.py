"""``max_response``: a client's find never loads more than that many bytes of records.

A page stops short (its ``limit`` says how many came, ``truncated`` says why); an unpaginated
find answers 413, and so does a ``$distinct`` or a multi patch or remove that would answer more
(those change nothing: the matched records are measured before anything is written). Every
adapter, both transports.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.hooks import Params
from tests.conformance.clients import CallError

BUDGET = 100_000
BODY = "x" * 30_000  # a record is a little over 30 kB: three fit in the budget, four do not


def set_budget(client: Any, service: str) -> None:
    """Give ``service`` the small budget (configured services exist already; dynamic ones get it
    from the settings when they are made)."""
    app = client.server.app
    app.settings.max_response = BUDGET
    if service in app.services:
        app.services[service].service.options.max_response = BUDGET


async def test_a_page_stops_at_the_byte_budget_and_says_so(client: Any) -> None:
    set_budget(client, "big")
    ids = [(await client.call("create", "big", {"i": i, "body": BODY}))["_id"] for i in range(7)]
    page = await client.call("find", "big", {"$limit": 5, "$sort": {"i": 1}})
    assert (page["total"], page["limit"], page["skip"], page["truncated"]) == (7, 3, 0, True)
    assert [r["_id"] for r in page["data"]] == ids[:3]
    # Paging on by skip + limit reaches every record once.
    seen, skip = [], 0
    while skip < 7:
        page = await client.call("find", "big", {"$limit": 5, "$skip": skip, "$sort": {"i": 1}, "$select": ["i"]})
        seen += [r["_id"] for r in page["data"]]
        skip += page["limit"]
    assert seen == ids
    assert "truncated" not in await client.call("find", "big", {"$limit": 2})


async def test_a_record_larger_than_the_budget_still_comes_alone(client: Any) -> None:
    set_budget(client, "huge")
    for i in range(2):
        await client.call("create", "huge", {"i": i, "body": BODY * 4})
    page = await client.call("find", "huge", {"$sort": {"i": 1}})
    assert (page["limit"], len(page["data"]), page["truncated"]) == (1, 1, True)


async def test_an_unpaginated_find_past_the_budget_is_413(client: Any) -> None:
    set_budget(client, "flat")
    for i in range(4):
        await client.call("create", "flat", {"i": i, "body": BODY})
    with pytest.raises(CallError) as info:
        await client.call("find", "flat", {})
    assert info.value.code == 413 and "$limit" in info.value.payload["message"]
    assert len(await client.call("find", "flat", {"$limit": 3})) == 3


async def test_the_servers_own_reads_are_not_cut(client: Any) -> None:
    set_budget(client, "inner")
    for i in range(4):
        await client.call("create", "inner", {"i": i, "body": BODY})
    page = await client.server.app.service("inner").find()
    assert len(page["data"]) == 4 and "truncated" not in page


async def count(client: Any, query: dict[str, Any]) -> int:
    """How many records of ``multi`` match ``query`` (a total: no record is loaded)."""
    return int((await client.call("find", "multi", {**query, "$limit": 0}))["total"])


async def seed_multi(client: Any, n: int) -> None:
    set_budget(client, "multi")
    await client.call("create", "multi", [{"i": i, "g": "x", "body": BODY} for i in range(n)])


async def test_a_multi_patch_past_the_budget_is_413_and_patches_nothing(client: Any) -> None:
    await seed_multi(client, 4)
    with pytest.raises(CallError) as info:
        await client.call("patch", "multi", None, {"seen": True}, {"g": "x"})
    assert info.value.code == 413 and "nothing was patched" in info.value.payload["message"]
    assert await count(client, {"seen": True}) == 0
    # Within the budget it is answered in full.
    patched = await client.call("patch", "multi", None, {"seen": True}, {"i": {"$lt": 3}})
    assert sorted(r["i"] for r in patched) == [0, 1, 2] and all(r["seen"] for r in patched)


async def test_a_multi_patch_counts_what_it_adds_to_each_record(client: Any) -> None:
    """Three small records fit the budget, but not with 40 kB of patch each in the answer."""
    set_budget(client, "multi")
    await client.call("create", "multi", [{"i": i, "g": "x"} for i in range(3)])
    with pytest.raises(CallError) as info:
        await client.call("patch", "multi", None, {"body": "y" * 40_000}, {"g": "x"})
    assert info.value.code == 413
    assert [r for r in (await client.call("find", "multi", {"$limit": 10}))["data"] if "body" in r] == []


async def test_a_multi_remove_past_the_budget_is_413_and_removes_nothing(client: Any) -> None:
    await seed_multi(client, 4)
    with pytest.raises(CallError) as info:
        await client.call("remove", "multi", None, {"g": "x"})
    assert info.value.code == 413 and "nothing was removed" in info.value.payload["message"]
    assert await count(client, {}) == 4
    removed = await client.call("remove", "multi", None, {"i": {"$gte": 2}})
    assert sorted(r["i"] for r in removed) == [2, 3]
    assert await count(client, {}) == 2


async def test_distinct_values_past_the_budget_are_413(client: Any) -> None:
    set_budget(client, "multi")
    await client.call("create", "multi", [{"i": i, "v": f"{i}{BODY}"} for i in range(4)])
    with pytest.raises(CallError) as info:
        await client.call("find", "multi", {"$distinct": "v"})
    assert info.value.code == 413
    assert sorted(await client.call("find", "multi", {"$distinct": "i"})) == [0, 1, 2, 3]


async def test_the_servers_own_multi_writes_are_not_cut(client: Any) -> None:
    await seed_multi(client, 4)
    removed = await client.server.app.service("multi").remove(None, params=Params(query={"g": "x"}))
    assert len(removed) == 4
