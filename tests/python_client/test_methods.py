"""The client's method table stays equal to the server's, and calls map to the REST routes."""

from __future__ import annotations

import pytest

from backend.query import parse_query_string
from backend.service import METHODS as SERVER_METHODS
from python_client.methods import EVENTS, METHODS, rest_call
from python_client.query import encode_query


def test_table_equals_the_servers() -> None:
    assert list(METHODS) == list(SERVER_METHODS)
    for name, spec in METHODS.items():
        server = SERVER_METHODS[name]
        assert (spec.args, spec.http_verb, spec.with_id, spec.status, spec.event) == (
            server.args, server.http_verb, server.with_id, server.status, server.event)
    assert EVENTS == ("created", "updated", "patched", "removed")


def test_rest_calls() -> None:
    call = rest_call("get", "runs", "a/b c", params={"query": {"$select": ["name"]}})
    assert (call.verb, call.path, call.query) == ("GET", "runs/a%2Fb%20c", "%24select%5B0%5D=name")
    assert rest_call("patch", "runs", None, {"x": 1}, {"query": {"k": 1}}).path == "runs"
    assert rest_call("create", "/runs/", data={"x": 1}).body == {"x": 1}
    assert rest_call("remove", "runs", 3).body is None
    with pytest.raises(ValueError):
        rest_call("get", "runs")


def test_which_calls_may_be_repeated() -> None:
    """From the table: idempotent methods naming their record, and creates carrying their id."""
    assert rest_call("find", "runs").repeatable and rest_call("get", "runs", "a").repeatable
    for method in ("update", "patch"):
        assert rest_call(method, "runs", "a", {"x": 1}).repeatable
        assert not rest_call(method, "runs", None, {"x": 1}, {"query": {"k": 1}}).repeatable  # query-wide
    assert rest_call("remove", "runs", "a").repeatable
    assert not rest_call("remove", "runs", None, params={"query": {"k": 1}}).repeatable
    assert not rest_call("create", "runs", data={"x": 1}).repeatable
    assert rest_call("create", "runs", data={"_id": "a", "x": 1}).repeatable
    assert rest_call("create", "runs", data={"key": "a"}, id_field="key").repeatable
    assert not rest_call("create", "runs", data=[{"_id": "a"}]).repeatable


def test_queries_read_back_as_sent() -> None:
    query = {"age": {"$gt": 3, "$in": [1, 2]}, "$sort": {"name": -1, "_id": 1}, "$select": ["a", "b"],
             "$or": [{"x": "a&b=c"}, {"y": "é/?"}], "$and": [{"n": None}, {"t": True}], "$limit": 5}
    parsed = parse_query_string(encode_query(query))
    assert parsed == {"age": {"$gt": "3", "$in": ["1", "2"]}, "$sort": {"name": "-1", "_id": "1"},
                      "$select": ["a", "b"], "$or": [{"x": "a&b=c"}, {"y": "é/?"}],
                      "$and": [{"n": "null"}, {"t": "true"}], "$limit": "5"}


def test_queries_that_rest_cannot_spell_are_refused() -> None:
    with pytest.raises(ValueError, match="empty list"):
        encode_query({"_id": {"$in": []}})  # qs would drop the key: the query would match everything
    with pytest.raises(ValueError):
        encode_query({"x": float("nan")})
