"""``max_response``: a client's find never loads more than that many bytes of records.

A page stops short (its ``limit`` says how many came, ``truncated`` says why); an unpaginated
find answers 413. Every adapter, both transports.
"""

from __future__ import annotations

from typing import Any

import pytest

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
