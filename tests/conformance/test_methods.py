"""The six methods, ids, multi, and the errors they answer: every adapter, both transports."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conformance.clients import CallError

HEX24 = re.compile(r"[0-9a-f]{24}")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def err(coro: Any) -> CallError:
    with pytest.raises(CallError) as info:
        await coro
    return info.value


async def test_create_sets_id_and_timestamps(client: Any) -> None:
    rec = await client.call("create", "people", {"name": "Ann", "age": 31})
    assert HEX24.fullmatch(rec["_id"])
    assert ISO.fullmatch(rec["createdAt"]) and rec["createdAt"] == rec["updatedAt"]
    assert await client.call("get", "people", rec["_id"]) == rec


async def test_create_keeps_given_id_and_refuses_duplicates(client: Any) -> None:
    rec = await client.call("create", "people", {"_id": "0123456789abcdef01234567", "name": "B"})
    assert rec["_id"] == "0123456789abcdef01234567"
    e = await err(client.call("create", "people", {"_id": "0123456789abcdef01234567", "name": "C"}))
    assert e.name == "Conflict" and e.code == 409


async def test_find_is_paginated(client: Any) -> None:
    for i in range(3):
        await client.call("create", "people", {"name": f"p{i}", "i": i})
    page = await client.call("find", "people", {})
    assert set(page) == {"total", "limit", "skip", "data"}
    assert page["total"] == 3 and page["limit"] == 100 and page["skip"] == 0
    assert [r["i"] for r in page["data"]] == [0, 1, 2]  # insertion order without $sort


async def test_update_replaces_and_keeps_id(client: Any) -> None:
    rec = await client.call("create", "people", {"name": "Ann", "age": 31})
    new = await client.call("update", "people", rec["_id"], {"name": "Bob", "_id": "ffffffffffffffffffffffff"})
    assert new["_id"] == rec["_id"] and new["name"] == "Bob" and "age" not in new
    assert (await client.call("get", "people", rec["_id"]))["name"] == "Bob"


async def test_patch_merges_top_level(client: Any) -> None:
    rec = await client.call("create", "people", {"name": "Ann", "age": 31, "meta": {"a": 1}})
    out = await client.call("patch", "people", rec["_id"], {"age": 32, "meta": {"b": 2}, "none": None})
    assert out["name"] == "Ann" and out["age"] == 32 and out["meta"] == {"b": 2} and out["none"] is None
    assert out["updatedAt"] >= rec["updatedAt"] and out["createdAt"] == rec["createdAt"]
    assert await client.call("get", "people", rec["_id"]) == out


async def test_create_with_a_bad_query_stores_nothing(client: Any) -> None:
    e = await err(client.call("create", "people", {"name": "ghost"}, {"$where": "1"}))
    assert e.code == 400
    assert (await client.call("find", "people", {"name": "ghost"}))["total"] == 0


async def test_patch_field_names_of_any_length(client: Any) -> None:
    """Names json_set can take (short) and names it is not given (over 256 characters) merge
    alike; whatever the names, the server keeps nothing per name (SQL is per field count)."""
    rec = await client.call("create", "people", {"name": "Ann"})
    for n in (1, 200, 257, 5000):
        out = await client.call("patch", "people", rec["_id"], {"k" * n: n, f"x{n}": True})
        assert out["k" * n] == n and out[f"x{n}"] is True and out["name"] == "Ann"
    stored = await client.call("get", "people", rec["_id"])
    assert all(stored["k" * n] == n for n in (1, 200, 257, 5000))


async def test_remove_returns_the_record(client: Any) -> None:
    rec = await client.call("create", "people", {"name": "Ann"})
    assert await client.call("remove", "people", rec["_id"]) == rec
    e = await err(client.call("get", "people", rec["_id"]))
    assert e.name == "NotFound" and e.code == 404 and rec["_id"] in e.payload["message"]


@pytest.mark.parametrize("method", ["get", "update", "patch", "remove"])
async def test_missing_id_is_not_found(client: Any, method: str) -> None:
    args: list[Any] = ["5f0000000000000000000000"]
    if method in ("update", "patch"):
        args.append({"a": 1})
    e = await err(client.call(method, "people", *args))
    assert e.name == "NotFound" and e.payload["className"] == "not-found"
    assert e.payload["message"] == "No record found for id '5f0000000000000000000000'"


@pytest.mark.parametrize("method", ["get", "update", "patch", "remove"])
async def test_id_plus_query_must_match(client: Any, method: str) -> None:
    rec = await client.call("create", "people", {"name": "Ann", "team": "a"})
    args: list[Any] = [rec["_id"]]
    if method in ("update", "patch"):
        args.append({"name": "X"})
    e = await err(client.call(method, "people", *args, {"team": "b"}))
    assert e.code == 404
    args_ok = [*args, {"team": "a"}]
    assert (await client.call(method, "people", *args_ok))["_id"] == rec["_id"]


async def test_multi_is_refused_without_the_option(client: Any) -> None:
    e = await err(client.call("create", "people", [{"a": 1}, {"a": 2}]))
    assert e.code == 405 and e.payload["message"] == "Can not create multiple entries"
    e = await err(client.call("patch", "people", None, {"a": 3}, {"a": 1}))
    assert e.code == 405 and e.payload["message"] == "Can not patch multiple entries"
    e = await err(client.call("remove", "people", None, {"a": 1}))
    assert e.code == 405 and e.payload["message"] == "Can not remove multiple entries"
    assert (await client.call("find", "people", {}))["total"] == 0


async def test_multi_create_patch_remove(client: Any) -> None:
    made = await client.call("create", "multi", [{"g": "x", "i": 1}, {"g": "x", "i": 2}, {"g": "y", "i": 3}])
    assert [m["i"] for m in made] == [1, 2, 3] and len({m["_id"] for m in made}) == 3
    patched = await client.call("patch", "multi", None, {"seen": True}, {"g": "x"})
    assert sorted(p["i"] for p in patched) == [1, 2] and all(p["seen"] is True for p in patched)
    removed = await client.call("remove", "multi", None, {"g": "x"})
    assert sorted(r["i"] for r in removed) == [1, 2]
    rest = await client.call("find", "multi", {})
    assert [r["i"] for r in rest["data"]] == [3] and "seen" not in rest["data"][0]


async def test_multi_as_a_list_of_methods(client: Any) -> None:
    e = await err(client.call("create", "patchonly", [{"a": 1}]))
    assert e.code == 405
    await client.call("create", "patchonly", {"a": 1})
    await client.call("create", "patchonly", {"a": 1})
    assert len(await client.call("patch", "patchonly", None, {"b": 2}, {"a": 1})) == 2
    assert len(await client.call("remove", "patchonly", None, {})) == 2


async def test_update_without_id_is_bad_request(client: Any) -> None:
    e = await err(client.call("update", "people", None, {"a": 1}))
    assert e.code == 400 and e.payload["message"] == "You can not replace multiple instances. Did you mean 'patch'?"


async def test_data_must_be_an_object(client: Any) -> None:
    for bad in (["x"], 3, "text"):
        e = await err(client.call("create", "multi", bad))
        assert e.code == 400, bad


async def test_custom_id_field(client: Any) -> None:
    rec = await client.call("create", "custom", {"name": "a"})
    assert HEX24.fullmatch(rec["id"]) and "_id" not in rec
    given = await client.call("create", "custom", {"id": "run-7", "name": "b"})
    assert (await client.call("get", "custom", "run-7")) == given
    assert (await client.call("patch", "custom", "run-7", {"x": 1}))["x"] == 1
    assert (await client.call("remove", "custom", "run-7"))["id"] == "run-7"


async def test_select_keeps_the_id(client: Any) -> None:
    rec = await client.call("create", "people", {"name": "Ann", "age": 3, "deep": {"a": 1, "b": 2}})
    got = await client.call("get", "people", rec["_id"], {"$select": ["name", "deep.a"]})
    assert got == {"_id": rec["_id"], "name": "Ann", "deep": {"a": 1}}
    page = await client.call("find", "people", {"$select": ["age"]})
    assert page["data"] == [{"_id": rec["_id"], "age": 3}]
    assert set(await client.call("patch", "people", rec["_id"], {"age": 4}, {"$select": ["age"]})) == {"_id", "age"}


async def test_schema_validation_names_the_fields(client: Any) -> None:
    e = await err(client.call("create", "typed", {"n": "three", "ok": 1}))
    assert e.code == 400 and e.name == "BadRequest"
    assert set(e.payload["errors"]) == {"n", "ok"}
    e = await err(client.call("create", "typed", {"x": 1.5}))
    assert "(root)" in e.payload["errors"]  # required n
    rec = await client.call("create", "typed", {"n": 1})
    assert (await client.call("patch", "typed", rec["_id"], {"x": 2.5}))["x"] == 2.5  # patch: no required
    e = await err(client.call("patch", "typed", rec["_id"], {"x": "no"}))
    assert e.code == 400


async def test_unknown_service_name_shapes(client: Any) -> None:
    e = await err(client.call("find", "bad name!", {}))
    assert e.code == 404
