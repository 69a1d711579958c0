"""Transport-agnostic file transfer types for services that take uploads or serve files.

A service with ``async def upload(self, parts, params)`` receives an async iterator of
:class:`UploadPart` (the REST transport streams multipart parts into it, never buffering a whole
file); a service with ``async def download(self, id, filename, params)`` returns a
:class:`Download`, which the transport serves with content type, Range and caching headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol


class UploadPart(Protocol):
    """One file part of an upload: its form field name, original file name and content type."""

    name: str
    filename: str | None
    content_type: str | None

    async def read_chunk(self, size: int = 65536) -> bytes:
        """The next chunk of the part's body; ``b""`` at the end."""
        ...


@dataclass
class Download:
    """A file to send. ``open(offset, length)`` yields its bytes from ``offset``."""

    filename: str
    size: int
    content_type: str
    open: Callable[[int, int], AsyncIterator[bytes]]
    etag: str | None = None
    last_modified: float | None = None  # POSIX timestamp
    cache_control: str = "public, max-age=3600"
