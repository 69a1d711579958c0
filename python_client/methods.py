"""The client's method table: how each Feathers method goes over REST, and which calls are safe to repeat.

It mirrors ``backend.service.METHODS`` (``python_client`` may not import ``backend``);
``tests/python_client/test_methods.py`` keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from .query import encode_query


@dataclass(frozen=True)
class MethodSpec:
    """A service method: positional arguments, REST form, success status and the event a write emits."""

    name: str
    args: tuple[str, ...]
    http_verb: str
    with_id: Literal["no", "yes", "optional"]
    status: int
    event: str | None
    # Repeating the call has the effect of one call (find/get/update/patch/remove); ``create`` is
    # only repeated when its data carries an id (see python_client.retry).
    idempotent: bool


METHODS: dict[str, MethodSpec] = {
    m.name: m
    for m in (
        MethodSpec("find", (), "GET", "no", 200, None, True),
        MethodSpec("get", ("id",), "GET", "yes", 200, None, True),
        MethodSpec("create", ("data",), "POST", "no", 201, "created", False),
        MethodSpec("update", ("id", "data"), "PUT", "optional", 200, "updated", True),
        MethodSpec("patch", ("id", "data"), "PATCH", "optional", 200, "patched", True),
        MethodSpec("remove", ("id",), "DELETE", "optional", 200, "removed", True),
    )
}

EVENTS: tuple[str, ...] = tuple(m.event for m in METHODS.values() if m.event)


@dataclass(frozen=True)
class RestCall:
    """One HTTP request for a service call: verb, path (after the location), query string, JSON body."""

    verb: str
    path: str
    query: str
    body: Any
    method: str


def rest_call(method: str, service: str, id: Any = None, data: Any = None,
              params: dict[str, Any] | None = None) -> RestCall:
    """The REST request of ``service.<method>(...)``; ``params`` is Feathers' ``{"query": {...}}``."""
    spec = METHODS[method]
    path = service.strip("/")
    if id is not None:
        path += "/" + quote(str(id), safe="")
    elif spec.with_id == "yes":
        raise ValueError(f"{method}() needs an id")
    query = (params or {}).get("query") or {}
    if not isinstance(query, dict):
        raise TypeError("params['query'] must be a dict")
    return RestCall(spec.http_verb, path, encode_query(query), data if "data" in spec.args else None, method)
