"""The process-wide default connection that the seed-API modules share (``em``, ``model``,
``serving``...): set by :func:`connect` (or ``em.login``), else made on first use from the
``PLUME_URL`` and ``PLUME_API_KEY`` environment variables (``http://localhost:3030`` without them).

    import python_client
    python_client.connect("http://plume.example.org:3030", api_key="plume_...")
    store = python_client.default_store()      # the DataStore every seed-API module uses
"""

from __future__ import annotations

import os
import threading

from .datastore import DataStore
from .storebase import DEFAULT_LOCATION

_lock = threading.Lock()
_store: DataStore | None = None


def new_store(url: str | None = None, api_key: str | None = None, *, timeout: float | None = None) -> DataStore:
    """A connection to ``url`` (default ``$PLUME_URL``) with ``api_key`` (default ``$PLUME_API_KEY``),
    not made the default (see :func:`use`)."""
    location = url or os.environ.get("PLUME_URL") or DEFAULT_LOCATION
    return DataStore(location, api_key, **({"timeout": timeout} if timeout is not None else {}))


def connect(url: str | None = None, api_key: str | None = None, *, timeout: float | None = None) -> DataStore:
    """Make the connection to ``url`` (default ``$PLUME_URL``) the process's default one, closing
    the previous default; ``api_key`` defaults to ``$PLUME_API_KEY``. Returns its DataStore."""
    return use(new_store(url, api_key, timeout=timeout))


def use(store: DataStore) -> DataStore:
    """Make ``store`` the process's default connection, closing the previous default. Returns it."""
    global _store
    with _lock:
        previous, _store = _store, store
    if previous is not None and previous is not store:
        previous.close()
    return store


def default_store() -> DataStore:
    """The default connection, made from the environment on first use when :func:`connect` was
    never called."""
    with _lock:
        store = _store
    return store if store is not None else connect()


def disconnect() -> None:
    """Close the default connection (the next :func:`default_store` makes a new one)."""
    global _store
    with _lock:
        previous, _store = _store, None
    if previous is not None:
        previous.close()
