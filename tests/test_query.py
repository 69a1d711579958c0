"""Query parsing: qs syntax (encoded and not), limits, coercion and the condition tree."""

from __future__ import annotations

import aiohttp
import pytest

from backend.errors import BadRequest
from backend.query import And, Cmp, Not, Or, parse, parse_query_string, split_path
from tests.conformance.clients import CallError, SocketClient
from tests.support.inprocess import Running


def test_encoded_and_unencoded_brackets_parse_alike() -> None:
    enc = parse_query_string("age%5B%24gt%5D=3&%24sort%5Bname%5D=-1&%24limit=2&%24select%5B0%5D=name")
    assert enc == {"age": {"$gt": "3"}, "$sort": {"name": "-1"}, "$limit": "2", "$select": ["name"]}
    raw = parse_query_string("$sort[createdAt]=-1&$select[]=name&basename=run")
    assert raw == {"$sort": {"createdAt": "-1"}, "$select": ["name"], "basename": "run"}


def test_depth_and_parameter_bombs_are_bad_requests() -> None:
    with pytest.raises(BadRequest):
        parse_query_string("a[b][c][d][e][f][g]=1")
    with pytest.raises(BadRequest):
        parse_query_string("&".join(f"k{i}=1" for i in range(1001)))
    assert parse_query_string("a[999999]=1") == {"a": {"999999": "1"}}  # large index: an object, as in qs


def test_filters_are_typed_and_clamped() -> None:
    q = parse({"$limit": "500", "$skip": "2", "$sort": {"a": "-1"}, "$select": ["a"]}, default_limit=10,
              max_limit=100)
    assert (q.limit, q.skip, q.sort, q.select) == (100, 2, [(("a",), -1)], ["a"])
    assert parse({}, default_limit=10, max_limit=100).limit == 10


def test_text_values_match_their_typed_forms() -> None:
    assert parse({"a": "3"}, text=True).where == Cmp(("a",), "$in", ["3", 3])
    assert parse({"a": "true"}, text=True).where == Cmp(("a",), "$in", ["true", True])
    assert parse({"a": "null"}, text=True).where == Cmp(("a",), "$in", ["null", None])
    assert parse({"a": {"$gt": "3.5"}}, text=True).where == Cmp(("a",), "$gt", 3.5)
    assert parse({"a": {"$ne": "1"}}, text=True).where == Cmp(("a",), "$nin", ["1", 1])
    assert parse({"a": "x"}, text=True).where == Cmp(("a",), "$eq", "x")
    assert parse({"a": "3"}).where == Cmp(("a",), "$eq", "3")  # socket.io keeps JSON types


def test_schema_types_drive_coercion() -> None:
    schema = {"properties": {"n": {"type": "integer"}, "s": {"type": "string"}, "b": {"type": ["boolean", "null"]}}}
    where = parse({"n": "3", "s": "3", "b": "false"}, text=True, schema=schema).where
    assert where == And((Cmp(("n",), "$eq", 3), Cmp(("s",), "$eq", "3"), Cmp(("b",), "$eq", False)))
    with pytest.raises(BadRequest):
        parse({"n": "x"}, text=True, schema=schema)


def test_tree_shapes() -> None:
    q = parse({"$or": [{"a": 1}, {"b": {"$not": {"$lt": 2}}}], "c.d": {"$in": [1, 2]}})
    assert q.where == And((Or((Cmp(("a",), "$eq", 1), Not(Cmp(("b",), "$lt", 2)))), Cmp(("c", "d"), "$in", [1, 2])))


@pytest.mark.parametrize("name", ['a"b', "a\\b", "a\x00", "", "a..b", "$x", "a.$b", "x" * 300])
def test_refused_field_names(name: str) -> None:
    with pytest.raises(BadRequest):
        split_path(name)


def test_nesting_is_bounded() -> None:
    q: dict = {"a": 1}
    for _ in range(20):
        q = {"$or": [q]}
    with pytest.raises(BadRequest):
        parse(q)


AGE_GT = ("'age[gt]' is not a query operator: operators start with $, as in age[$gt] (allowed: $in, $nin, $lt, "
          "$lte, $gt, $gte, $ne, $not); to match a field 'gt' inside 'age', write age.gt")


@pytest.mark.parametrize("query", [{"age": {"gt": "30"}}, {"age": {"$gt": "1", "lt": "9"}}, {"a": {"b": {"in": "1"}}},
                                   {"age": {"$not": {"ne": "3"}}}])
def test_an_operator_without_its_dollar_is_refused(query: dict) -> None:
    with pytest.raises(BadRequest, match="is not a query operator") as refused:
        parse(query, text=True)
    assert refused.value.errors is not None


def test_sub_fields_that_are_not_operator_names_still_match() -> None:
    assert parse({"meta": {"gte_count": "3", "note": "x"}}).where == And((Cmp(("meta", "gte_count"), "$eq", "3"),
                                                                          Cmp(("meta", "note"), "$eq", "x")))
    assert parse({"age.gt": 30}).where == Cmp(("age", "gt"), "$eq", 30)  # the dotted name reaches a field 'gt'


async def test_the_mistake_is_a_400_over_both_transports(server: Running) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/people", json={"name": "Ann", "age": 31, "meta": {"gt": 1}}) as r:
            assert r.status == 201
        async with http.get(f"{server.url}/people?age[gt]=30") as r:
            body = await r.json()
            assert r.status == 400 and body["name"] == "BadRequest" and body["message"] == AGE_GT
            assert body["errors"] == {"age": "unknown operator 'gt' (did you mean '$gt'?)"}
        async with http.get(f"{server.url}/people?age[$gt]=30&meta.gt=1") as r:
            assert r.status == 200 and [p["name"] for p in (await r.json())["data"]] == ["Ann"]
    sockets = await SocketClient(server.url).connect()
    try:
        with pytest.raises(CallError) as refused:
            await sockets.call("find", "people", {"age": {"gt": 30}})
        assert refused.value.code == 400 and refused.value.payload["message"] == AGE_GT
        page = await sockets.call("find", "people", {"meta.gt": 1, "age": {"$gte": 31}})
        assert [p["name"] for p in page["data"]] == ["Ann"]
    finally:
        await sockets.close()
