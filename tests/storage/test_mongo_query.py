"""The MongoDB filter translation agrees with the reference matcher on awkward data.

Random condition trees over records holding look-alike kinds, nulls, missing fields, arrays and
sub-documents (where MongoDB's own rules differ: it looks into arrays) must select exactly the
records :func:`backend.storage.matcher.matches` selects.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from backend.query import And, Cmp, Cond, Not, Or
from backend.storage.base import AdapterOptions
from backend.storage.matcher import matches
from backend.storage.mongo_query import NOTHING, MongoFilter
from backend.storage.mongodb import MongoStorage

# No 0 or 1: mongomock compares booleans with numbers by Python equality (True == 1), which a
# real server never does; the rest of the bracketing is mongomock's own and the server's.
VALUES: list[Any] = [None, 1.5, 2, -3, "1", "a", "b", "", True, False]
FIELD_VALUES: list[Any] = [*VALUES, [1, 2], ["a", "b"], [None], [], {"b": 2}, {"b": "a"}, [{"b": 2}],
                           {"b": None}, {"b": {"c": 2}}]
PATHS = [("x",), ("y",), ("a", "b"), ("a", "b", "c"), ("missing",)]
OPS = ["$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte"]


def records(rng: random.Random, n: int = 60) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        rec: dict[str, Any] = {"_id": f"{i:024x}"}
        for name in ("x", "y", "a"):
            if rng.random() < 0.8:
                rec[name] = rng.choice(FIELD_VALUES)
        out.append(rec)
    return out


def condition(rng: random.Random, depth: int = 0) -> Cond:
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        return And(tuple(condition(rng, depth + 1) for _ in range(rng.randint(1, 3))))
    if depth < 2 and roll < 0.3:
        return Or(tuple(condition(rng, depth + 1) for _ in range(rng.randint(1, 3))))
    if depth < 2 and roll < 0.4:
        return Not(condition(rng, depth + 1))
    op = rng.choice(OPS)
    value: Any = rng.sample(VALUES, rng.randint(1, 3)) if op in ("$in", "$nin") else rng.choice(VALUES)
    return Cmp(rng.choice(PATHS), op, value)


@pytest.mark.parametrize("seed", range(6))
async def test_random_queries_select_what_the_reference_selects(seed: int) -> None:
    rng = random.Random(seed)
    data = records(rng)
    storage = MongoStorage(f"mongomock://localhost/plume_query_{seed}")
    try:
        coll = storage.db["things"]
        await coll.insert_many([dict(r) for r in data])
        translate = MongoFilter("_id")
        for _ in range(150):
            cond = condition(rng)
            expected = sorted(r["_id"] for r in data if matches(r, cond, "_id"))
            got = sorted([d["_id"] async for d in coll.find(translate(cond))])
            assert got == expected, cond
    finally:
        await storage.close()


def test_ranges_on_null_or_booleans_match_nothing() -> None:
    translate = MongoFilter("_id")
    assert translate(Cmp(("x",), "$gt", None)) == NOTHING
    assert translate(Cmp(("x",), "$lte", True)) == NOTHING


async def test_object_id_ranges_page_like_strings() -> None:
    storage = MongoStorage("mongomock://localhost/plume_query_ids")
    adapter = storage.adapter("things", AdapterOptions(paginate=None))
    from backend.hooks import Params

    made = [(await adapter.create({"n": i}, Params()))["_id"] for i in range(5)]
    later = await adapter.find(Params(query={"_id": {"$gt": made[1]}, "$sort": {"_id": 1}}))
    assert [r["_id"] for r in later] == sorted(made)[2:]
    assert [r["_id"] for r in await adapter.find(Params(query={"_id": {"$ne": made[0]}}))] == made[1:]
    await storage.close()
