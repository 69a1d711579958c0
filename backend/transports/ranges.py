"""Serve a :class:`backend.uploads.Download` over HTTP: content type, caching and byte ranges."""

from __future__ import annotations

import re
from email.utils import formatdate

from aiohttp import web

from ..uploads import Download

# CORS headers the REST middleware computed, for responses streamed by a handler.
CORS_KEY = web.RequestKey("plume_cors_headers", dict)

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end_inclusive)`` of a single ``bytes=`` range; None when it is unsatisfiable."""
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # suffix: the last N bytes
        n = int(m.group(2))
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else None
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


async def serve_download(request: web.Request, dl: Download) -> web.StreamResponse:
    headers = {
        "Content-Type": dl.content_type,
        "Accept-Ranges": "bytes",
        "Cache-Control": dl.cache_control,
        "Content-Disposition": f"inline; filename*=UTF-8''{_quote(dl.filename)}",
        **request.get(CORS_KEY, {}),
    }
    if dl.etag:
        headers["ETag"] = f'"{dl.etag}"'
        if request.headers.get("If-None-Match", "").strip() in (headers["ETag"], f"W/{headers['ETag']}", "*"):
            return web.Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    if dl.last_modified is not None:
        headers["Last-Modified"] = formatdate(dl.last_modified, usegmt=True)
    start, end, status = 0, dl.size - 1, 200
    range_header = request.headers.get("Range")
    if range_header and dl.size > 0:
        span = parse_range(range_header, dl.size)
        if span is None:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{dl.size}"})
        start, end, status = span[0], span[1], 206
        headers["Content-Range"] = f"bytes {start}-{end}/{dl.size}"
    length = max(0, end - start + 1)
    headers["Content-Length"] = str(length)
    resp = web.StreamResponse(status=status, headers=headers)
    await resp.prepare(request)
    if request.method != "HEAD" and length:
        async for chunk in dl.open(start, length):
            await resp.write(chunk)
    await resp.write_eof()
    return resp


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
