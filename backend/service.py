"""The one method table. Routes, socket handlers, event names and the client derive from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MethodSpec:
    """A service method: its positional arguments, its REST form and the event a write emits."""

    name: str
    args: tuple[str, ...]  # positional arguments before ``params``
    http_verb: str
    # Is the id part of the REST URL? ("optional": PUT /p reaches update(null), which answers 400.)
    with_id: Literal["no", "yes", "optional"]
    status: int  # REST success status
    event: str | None  # event emitted after success (None for reads)

    @property
    def arity(self) -> int:
        """Number of arguments including the trailing params/query."""
        return len(self.args) + 1


METHODS: dict[str, MethodSpec] = {
    m.name: m
    for m in (
        MethodSpec("find", (), "GET", "no", 200, None),
        MethodSpec("get", ("id",), "GET", "yes", 200, None),
        MethodSpec("create", ("data",), "POST", "no", 201, "created"),
        MethodSpec("update", ("id", "data"), "PUT", "optional", 200, "updated"),
        MethodSpec("patch", ("id", "data"), "PATCH", "optional", 200, "patched"),
        MethodSpec("remove", ("id",), "DELETE", "optional", 200, "removed"),
    )
}

# Custom methods a service may offer; the REST transport maps them to
# ``POST /<path>/upload`` (multipart parts as ``data``) and ``GET /<path>/<id>/<filename>``.
# An upload answers 200, as Marcelle's express backend did: Marcelle's Python package requires it,
# and its browser clients (TF.js' http handler, fetch) accept any 2xx.
CUSTOM_METHODS: dict[str, MethodSpec] = {
    "upload": MethodSpec("upload", ("data",), "POST", "no", 200, None),
    "download": MethodSpec("download", ("id", "data"), "GET", "yes", 200, None),
}
ALL_METHODS: dict[str, MethodSpec] = {**METHODS, **CUSTOM_METHODS}
#: What a service-declared custom method may be called (Feathers' ``methods`` option).
CUSTOM_NAME = re.compile(r"[a-z][A-Za-z0-9]{0,63}")


def custom_method(name: str) -> MethodSpec:
    """The spec of a service's own custom method ``name``, declared with the ``methods`` option of
    :meth:`backend.app.App.use` (as in Feathers v5): ``method(data, params)``, reached over REST as
    ``POST /<path>`` with the header ``X-Service-Method: <name>`` (or ``POST /<path>/<id>/<name>``,
    the id given as ``params.route["id"]``) and over socket.io as ``emit(name, path, data, query)``.
    It answers 200 and emits no event."""
    return MethodSpec(name, ("data",), "POST", "no", 200, None)

EVENTS: tuple[str, ...] = tuple(m.event for m in METHODS.values() if m.event)


# (HTTP verb, is there an id in the URL?) -> method; built once from METHODS for the REST transport.
REST_ROUTES: dict[tuple[str, bool], MethodSpec] = {}
for _spec in METHODS.values():
    for _has_id in (False, True):
        if _spec.with_id == "optional" or (_spec.with_id == "yes") == _has_id:
            REST_ROUTES.setdefault((_spec.http_verb, _has_id), _spec)

