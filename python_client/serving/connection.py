"""Which Plume server a serving object talks to, and the ``predict`` call (a custom method)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..datastore import DataStore
from ..default import default_store
from ..exchange import Request
from ..utils import to_json

DEFAULT_PORT = 3030


def store_for(host: str | None = None, port: int | str | None = None, frontend_url: str | None = None,
              store: DataStore | None = None) -> tuple[DataStore, bool]:
    """``(DataStore, owned)``: ``store`` when given, a new one for ``frontend_url`` or
    ``http://<host>:<port>`` (owned: close it with the object), else the process's default one."""
    if store is not None:
        return store, False
    if frontend_url:
        return DataStore(frontend_url), True
    if host or port:
        return DataStore(f"http://{host or 'localhost'}:{port or DEFAULT_PORT}"), True
    return default_store(), False


def predict(store: DataStore, endpoint: str, body: dict[str, Any]) -> Any:
    """``POST /endpoints/<endpoint>/predict`` with ``body``: the server's answer.

    Sent again after a lost answer or a 503 (a prediction changes nothing on the server).
    """
    path = f"endpoints/{quote(endpoint, safe='')}/predict"
    return store.http.send(Request("POST", path, repeatable=True, body=to_json(body)))
