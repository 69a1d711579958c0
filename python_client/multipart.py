"""Streamed ``multipart/form-data`` bodies for uploads: files are read in chunks, never whole.

``requests`` builds multipart bodies in memory; a checkpoint can be hundreds of megabytes, so
the sync client sends this iterable instead (it has a length, so the request carries a
``Content-Length`` rather than chunked encoding).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 256 * 1024


@dataclass(frozen=True)
class FilePart:
    """One file of an upload. The server stores it under ``field`` and remembers ``filename``."""

    field: str
    path: Path
    filename: str
    content_type: str = "application/octet-stream"

    @classmethod
    def of(cls, path: str | os.PathLike[str], field: str | None = None, filename: str | None = None,
           content_type: str = "application/octet-stream") -> FilePart:
        """A part for the file at ``path`` (field and file name default to its base name)."""
        p = Path(path)
        return cls(field or p.name, p, filename or p.name, content_type)


def _quote(value: str) -> str:
    # RFC 7578 form-data names: quotes and line breaks escaped as browsers do.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """An iterable multipart body over files on disk; iterate it once per request attempt."""

    def __init__(self, parts: list[FilePart]) -> None:
        self.parts = parts
        self.boundary = f"plume-{uuid.uuid4().hex}"
        self._heads = [
            (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"{_quote(p.field)}\"; "
             f"filename=\"{_quote(p.filename)}\"\r\nContent-Type: {p.content_type}\r\n\r\n").encode()
            for p in parts
        ]
        self._tail = f"--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        """The request's ``Content-Type`` header."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return sum(len(h) + p.path.stat().st_size + 2 for h, p in zip(self._heads, self.parts, strict=True)) + len(
            self._tail)

    def __iter__(self) -> Iterator[bytes]:
        for head, part in zip(self._heads, self.parts, strict=True):
            yield head
            with part.path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
            yield b"\r\n"
        yield self._tail
