"""Blob storage for uploaded files, behind one interface: local disk (default) or GridFS.

Keys are ``/``-separated relative names made by the server (``<folderid>/<filename>``), never
client paths. Writes stream chunk by chunk with a size limit; reads stream a byte range.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass
class BlobInfo:
    key: str
    size: int
    etag: str  # the content's SHA-256 (hex): the ETag, and what uploads record as the file's digest
    modified: float  # POSIX timestamp


class BlobTooLarge(Exception):
    """Raised by :meth:`BlobStore.put` when the stream passes ``max_size``; nothing is kept."""


class BlobStore(abc.ABC):
    """Where uploaded files live. Implementations: ``local.LocalBlobStore``, ``gridfs.GridFSBlobStore``."""

    @abc.abstractmethod
    async def put(self, key: str, chunks: AsyncIterator[bytes], *, max_size: int | None = None) -> BlobInfo:
        """Store the stream under ``key`` (replacing it); BlobTooLarge past ``max_size`` (nothing kept)."""

    @abc.abstractmethod
    async def stat(self, key: str) -> BlobInfo | None:
        """Size, etag and time of ``key``; None when absent."""

    @abc.abstractmethod
    def open(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream ``length`` bytes of ``key`` from ``offset`` (to the end when None)."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every key under ``prefix/`` (default: via :meth:`keys`)."""
        async for key in self.keys(prefix):
            await self.delete(key)

    @abc.abstractmethod
    def keys(self, prefix: str = "") -> AsyncIterator[str]:
        """Keys under ``prefix`` (all when empty)."""

    async def close(self) -> None:  # noqa: B027 - optional
        """Release resources."""
