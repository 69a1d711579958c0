"""Pick the blob store from the settings: ``[storage] blobs = "local" | "gridfs"``."""

from __future__ import annotations

from typing import Any

from ...config import ConfigError, Settings
from . import BlobStore
from .local import LocalBlobStore


def open_blob_store(settings: Settings, storage: Any) -> BlobStore:
    """Local disk under ``<data_dir>/files`` by default; GridFS (the default on MongoDB) when chosen."""
    section = settings.section("storage")
    unknown = set(section) - {"blobs", "files_dir"}
    if unknown:
        raise ConfigError(f"storage: unknown option(s) {sorted(unknown)}")
    # mongomock:// hosts GridFS too (through mongomock's GridFS integration), for tests.
    on_mongo = settings.database_url.startswith(("mongodb:", "mongodb+srv:", "mongomock:"))
    kind = section.get("blobs", "gridfs" if on_mongo else "local")
    if kind == "local":
        return LocalBlobStore(section.get("files_dir") or settings.data_dir / "files")
    if kind == "gridfs":
        if not on_mongo:
            raise ConfigError("storage.blobs = \"gridfs\" needs a MongoDB database (mongodb://)")
        from .gridfs import GridFSBlobStore  # type: ignore[import-not-found]

        return GridFSBlobStore(storage)
    raise ConfigError(f"storage.blobs must be \"local\" or \"gridfs\", not {kind!r}")
