"""The client's method table: how each Feathers method goes over REST, and which calls are safe to repeat.

It mirrors ``backend.service.METHODS`` (``python_client`` may not import ``backend``);
``tests/python_client/test_methods.py`` keeps the two equal. ``Service`` and ``AsyncService``
get their six methods from it (:func:`python_client.servicebase.install_methods`).
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
    doc: str = ""  # the client method's docstring

    def repeatable(self, id: Any = None, data: Any = None, id_field: str = "_id") -> bool:
        """May this call be sent again when its answer was lost, or was a 429/5xx (:mod:`python_client.retry`)?

        An idempotent method is, when it names its record: a query-wide ``patch(None, ...)`` or
        ``remove(None, ...)`` may match other records the second time (created or changed in
        between), so it is sent once. A ``create`` is, when its data carries its id: a repeat
        then answers 409 instead of making a second record.
        """
        if self.with_id == "optional" and id is None:
            return False
        if self.idempotent:
            return True
        return isinstance(data, dict) and data.get(id_field) is not None


METHODS: dict[str, MethodSpec] = {
    m.name: m
    for m in (
        MethodSpec("find", (), "GET", "no", 200, None, True,
                   """Records matching ``params["query"]``: a page ``{total, limit, skip, data}`` (or a list)."""),
        MethodSpec("get", ("id",), "GET", "yes", 200, None, True,
                   """The record ``id`` (NotFound if it does not exist or does not match the query)."""),
        MethodSpec("create", ("data",), "POST", "no", 201, "created", False,
                   """Create one record (or several from a list) and return it.

        A create is repeated after a lost answer only when ``data`` carries its id: a repeat that
        answers 409 then means the first attempt created the record, which is fetched and returned.
        """),
        MethodSpec("update", ("id", "data"), "PUT", "optional", 200, "updated", True,
                   """Replace record ``id`` with ``data`` (the id is kept)."""),
        MethodSpec("patch", ("id", "data"), "PATCH", "optional", 200, "patched", True,
                   """Merge ``data`` into record ``id`` (``id=None``: every record matching the query, never
        repeated)."""),
        MethodSpec("remove", ("id",), "DELETE", "optional", 200, "removed", True,
                   """Remove record ``id`` (``id=None``: every record matching the query, never repeated) and
        return it."""),
    )
}

EVENTS: tuple[str, ...] = tuple(m.event for m in METHODS.values() if m.event)


@dataclass(frozen=True)
class RestCall:
    """One HTTP request for a service call: verb, path (after the location), query string, JSON body,
    and whether it may be sent again (:meth:`MethodSpec.repeatable`)."""

    verb: str
    path: str
    query: str
    body: Any
    method: str
    repeatable: bool


def rest_call(method: str, service: str, id: Any = None, data: Any = None,
              params: dict[str, Any] | None = None, *, id_field: str = "_id") -> RestCall:
    """The REST request of ``service.<method>(...)``; ``params`` is Feathers' ``{"query": {...}}``.

    ``id_field`` names the id inside ``data`` (a create carrying it may be repeated).
    """
    spec = METHODS[method]
    path = service.strip("/")
    if id is not None:
        path += "/" + quote(str(id), safe="")
    elif spec.with_id == "yes":
        raise ValueError(f"{method}() needs an id")
    query = (params or {}).get("query") or {}
    if not isinstance(query, dict):
        raise TypeError("params['query'] must be a dict")
    body = data if "data" in spec.args else None
    return RestCall(spec.http_verb, path, encode_query(query), body, method, spec.repeatable(id, body, id_field))
