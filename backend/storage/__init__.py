"""Storage chosen by URL: ``sqlite:///path`` (default), ``memory://``, ``mongodb://...``."""

from __future__ import annotations

import abc
from typing import Any

from .base import AdapterOptions, StorageAdapter
from .memory import MemoryAdapter
from .names import storage_name


class Storage(abc.ABC):
    """A database: makes an adapter per service and closes once at shutdown."""

    url: str

    @abc.abstractmethod
    def adapter(self, name: str, options: AdapterOptions) -> StorageAdapter:
        """The adapter of service ``name`` (stored under :func:`.names.storage_name` of it)."""

    async def open(self) -> None:  # noqa: B027 - optional
        """Bring the database's layout up to date (called once at start, before any adapter is used)."""

    async def stored_services(self) -> list[str]:
        """The names of the services that have records stored here (internal ones included)."""
        return []

    async def close(self) -> None:  # noqa: B027 - optional
        """Finish pending writes and close."""


class MemoryStorage(Storage):
    def __init__(self, url: str = "memory://") -> None:
        self.url = url

    def adapter(self, name: str, options: AdapterOptions) -> StorageAdapter:
        storage_name(name)  # the same names as the databases accept
        return MemoryAdapter(name, options)


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///path`` URL (``sqlite:////abs/path`` for an absolute one), or
    ``:memory:``."""
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url[len("sqlite://"):]
    return path or ":memory:"


class SqliteStorage(Storage):
    def __init__(self, url: str) -> None:
        from .sqlite_db import SqliteDatabase

        self.url = url
        self.db = SqliteDatabase(sqlite_path(url))

    def adapter(self, name: str, options: AdapterOptions) -> StorageAdapter:
        from .sqlite import SqliteAdapter

        return SqliteAdapter(name, self.db, options)

    async def open(self) -> None:
        from .sqlite import rename_legacy_tables

        await self.db.write(rename_legacy_tables)

    async def stored_services(self) -> list[str]:
        from .sqlite import stored_services

        return await self.db.read(stored_services)

    async def close(self) -> None:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(None, self.db.close)


def open_storage(url: str, **kwargs: Any) -> Storage:
    """The storage for ``url`` by its scheme (ValueError for an unknown one)."""
    if url.startswith("sqlite:"):
        return SqliteStorage(url)
    if url.startswith("memory:"):
        return MemoryStorage(url)
    if url.startswith(("mongodb:", "mongodb+srv:", "mongomock:")):
        from .mongodb import MongoStorage  # type: ignore[import-not-found]

        return MongoStorage(url, **kwargs)
    raise ValueError(f"unsupported database URL {url!r} (use sqlite:///path or mongodb://host/db)")
