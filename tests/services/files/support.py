"""Helpers for upload/download tests over real HTTP: multipart bodies, raw bodies, stray files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

# Files the server itself keeps under its data dir (database, config); anything else is a stored file.
_SERVER_FILES = ("plume.sqlite3", "plume.toml")


def form(*parts: tuple[str, str, bytes]) -> aiohttp.FormData:
    """A multipart body of ``(field name, file name, content)`` file parts."""
    data = aiohttp.FormData(quote_fields=False)
    for field, filename, content in parts:
        data.add_field(field, content, filename=filename, content_type="application/octet-stream")
    return data


async def post_form(http: aiohttp.ClientSession, url: str, *parts: tuple[str, str, bytes]) -> tuple[int, Any]:
    """POST a multipart upload; ``(status, JSON body)``."""
    async with http.post(url, data=form(*parts)) as r:
        return r.status, await r.json(content_type=None)


def raw_multipart(parts: list[tuple[str, str, bytes]], boundary: str = "plumeboundary", close: bool = True) -> bytes:
    """A hand-written multipart body (names sent verbatim; ``close=False`` leaves it truncated)."""
    out = b""
    for field, filename, content in parts:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return out


async def post_raw(
    http: aiohttp.ClientSession, url: str, body: bytes, boundary: str = "plumeboundary"
) -> tuple[int, Any]:
    """POST a raw multipart body; ``(status, JSON body)``."""
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with http.post(url, data=body, headers=headers) as r:
        return r.status, await r.json(content_type=None)


def stored_files(data_dir: Path) -> list[str]:
    """Every file under the data dir except the server's own (database, WAL, config)."""
    return sorted(
        str(p.relative_to(data_dir))
        for p in Path(data_dir).rglob("*")
        if p.is_file() and not p.name.startswith(_SERVER_FILES)
    )

