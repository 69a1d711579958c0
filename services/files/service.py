"""Give a stored service the custom ``upload``/``download`` methods, and fetch a blob store."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from backend.app import App, ServiceHandle
from backend.storage.blobs import BlobStore

log = logging.getLogger(__name__)
UploadFn = Callable[[Any, Any], Awaitable[Any]]
DownloadFn = Callable[[Any, Any, Any], Awaitable[Any]]


def add_file_methods(handle: ServiceHandle, upload: UploadFn, download: DownloadFn) -> None:
    """Add ``upload(parts, params)`` and ``download(id, filename, params)`` to a registered service.

    ``use_stored`` registers the storage adapter itself; the methods are set on that object (the
    handle looks methods up on it per call) and announced in ``handle.methods`` so that the REST
    transport routes ``POST /<path>/upload`` and ``GET /<path>/<id>/<filename>`` to them.
    """
    handle.service.upload = upload
    handle.service.download = download
    handle.methods = handle.methods | {"upload", "download"}


def blob_store(app: App) -> BlobStore | None:
    """``app.blobs`` (set by the server from the ``[storage]`` config).

    Falls back to a local store under ``<data_dir>/files`` when the server has not set one, and
    to None when this build has no local blob store either (file services are then disabled).
    """
    blobs = getattr(app, "blobs", None)
    if blobs is None:
        try:
            from backend.storage.blobs.local import LocalBlobStore
        except ImportError:
            log.error("no blob store (app.blobs / backend.storage.blobs.local): file services are disabled")
            return None

        blobs = LocalBlobStore(Path(app.settings.data_dir) / "files")
        app.blobs = blobs  # type: ignore[attr-defined]
        app.on_teardown(blobs.close)
    return blobs
