"""Shared checks for the hostile-input tests: every refusal is a Feathers error, never a 500."""

from __future__ import annotations

from typing import Any

import requests

CLASS_NAMES = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}
NAMES = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}

# Query-side attacks that must be a 400 whatever the transport (socket.io gets the parsed form).
UNKNOWN_OPERATORS: list[dict[str, Any]] = [
    {"$where": "1"},
    {"name": {"$where": "1"}},
    {"name": {"$regex": "a"}},
    {"$expr": {"$eq": [1, 1]}},
    {"$or": [{"$where": "sleep(1000)"}]},
    {"$or": [{"name": {"$where": "x"}}]},
    {"$and": [{"$or": [{"n": {"$function": "x"}}]}]},
    {"name": {"$not": {"$regex": "a"}}},
    {"$text": {"$search": "x"}},
]
BAD_PAGING: list[dict[str, Any]] = [
    {"$limit": -1}, {"$limit": "abc"}, {"$skip": "x"}, {"$skip": -3},
    {"$sort": {"a": "sideways"}}, {"$sort": "abc"}, {"$sort": {"a": 2}}, {"$limit": {"$gt": 1}},
]
BAD_QUERY_FIELDS = ['a"b', "a\\b", "a\x00b", "a\x01", "tab\there", "a\x7f"]


# The server both hostile-input modules start: a 1 MiB body limit and one service with multi.
MAX_BODY = 1024 * 1024
CONFIG = f"""
max_body = {MAX_BODY}
[services.multi]
multi = true
"""


def assert_error(response: requests.Response, code: int) -> dict[str, Any]:
    """``response`` is a Feathers error JSON with status ``code``; returns the body."""
    assert response.status_code == code, (response.status_code, response.text[:300])
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert body["code"] == code and body["name"] == NAMES[code] and body["className"] == CLASS_NAMES[code], body
    assert isinstance(body["message"], str) and body["message"]
    return body


def assert_ack_error(ack: Any, code: int) -> dict[str, Any]:
    """A socket.io ack carrying a Feathers error with ``code``."""
    assert isinstance(ack, dict), ack
    assert ack["code"] == code and ack["name"] == NAMES[code] and ack["className"] == CLASS_NAMES[code], ack
    return ack


def no_tracebacks(log: str) -> None:
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
