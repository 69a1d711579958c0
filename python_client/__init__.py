"""Plume's Python client: Marcelle's package API (DataStore, Remote, Writer, Uploader), typed,
realtime, asyncio-ready and offline-first.

    from python_client import DataStore
    store = DataStore("http://localhost:3030")
    store.service("people").create({"name": "Ann"})

Names are loaded on first use, so that ``import python_client`` stays light (no numpy, no
TensorFlow) and the server can import :mod:`python_client.conversion` without the client.
``KerasCallback`` is re-exported from :mod:`keras_callback` (importing it loads Keras).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "connect": "default",
    "default_store": "default",
    "disconnect": "default",
    "DataStore": "datastore",
    "Service": "service",
    "AsyncDataStore": "aio",
    "AsyncService": "aio",
    "RetryPolicy": "retry",
    "FilePart": "multipart",
    "Remote": "remote",
    "Writer": "writer",
    "Uploader": "uploader",
    "conform_dict": "utils",
    "get_model_info": "utils",
    "KerasCallback": "keras_callback",
}

__all__ = [
    "AsyncDataStore",
    "AsyncService",
    "DataStore",
    "FilePart",
    "KerasCallback",
    "Remote",
    "RetryPolicy",
    "Service",
    "Uploader",
    "Writer",
    "conform_dict",
    "connect",
    "default_store",
    "disconnect",
    "get_model_info",
]

if TYPE_CHECKING:
    from keras_callback import KerasCallback

    from .aio import AsyncDataStore, AsyncService
    from .datastore import DataStore
    from .default import connect, default_store, disconnect
    from .multipart import FilePart
    from .remote import Remote
    from .retry import RetryPolicy
    from .service import Service
    from .uploader import Uploader
    from .utils import conform_dict, get_model_info
    from .writer import Writer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'python_client' has no attribute {name!r}")
    if module == "keras_callback":
        value = importlib.import_module("keras_callback").KerasCallback
    else:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
