"""Static pages a plugin serves beside the services (the dashboard at ``/``).

A plugin mounts a folder with :meth:`backend.app.App.mount`::

    app.mount("/", static_pages(folder))            # GET / answers folder/index.html
    app.mount("/_dashboard", static_pages(folder))   # GET /_dashboard/<file> answers folder/<file>

Mount points are ``/`` (the root page alone) or ``/_<name>``: a name no service can have, so pages
never shadow a service. Only GET and HEAD reach a page; files are looked up inside the folder only
(no ``..``, no hidden files), served with their content type, an ETag (304 on ``If-None-Match``),
and caching that suits a built web app: ``index.html`` is revalidated every time, files whose name
carries a content hash (``app-3f2a9c1d.js``) are cached for good.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from .uploads import Download

Pages = Callable[[str], Awaitable[Download | None]]
MOUNT = re.compile(r"/|/_[a-z][a-z0-9_-]{0,31}")
INDEX = "index.html"
_HASHED = re.compile(r"[-.][0-9A-Za-z_-]{8,}\.(?:js|css|woff2?|svg|png|map)$")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
          ".woff2": "font/woff2", ".map": "application/json", ".png": "image/png", ".ico": "image/x-icon"}
CHUNK = 256 * 1024


def static_pages(folder: Path | str) -> Pages:
    """Pages answering the files of ``folder`` (``""`` is its ``index.html``)."""
    root = Path(folder).resolve()
    etags: dict[Path, tuple[int, int, str]] = {}

    def find(name: str) -> tuple[Path, int, float, str] | None:
        parts = [p for p in (name or INDEX).split("/") if p]
        if not parts or any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
            return None
        path = root.joinpath(*parts)
        if root not in path.parents or not path.is_file():
            return None
        st = path.stat()
        known = etags.get(path)
        if known is None or known[:2] != (st.st_size, st.st_mtime_ns):
            known = (st.st_size, st.st_mtime_ns, hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest())
            etags[path] = known
        return path, st.st_size, st.st_mtime, known[2]

    async def page(name: str) -> Download | None:
        found = await asyncio.to_thread(find, name)
        if found is None:
            return None
        path, size, mtime, etag = found

        async def open_range(offset: int, length: int) -> AsyncIterator[bytes]:
            handle = await asyncio.to_thread(path.open, "rb")
            try:
                await asyncio.to_thread(handle.seek, offset)
                while length > 0:
                    chunk = await asyncio.to_thread(handle.read, min(CHUNK, length))
                    if not chunk:
                        break
                    length -= len(chunk)
                    yield chunk
            finally:
                await asyncio.to_thread(handle.close)

        cache = "public, max-age=31536000, immutable" if _HASHED.search(path.name) else "no-cache"
        content_type = (_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
                        or "application/octet-stream")
        return Download(path.name, size, content_type, open_range, etag=etag, last_modified=mtime,
                        cache_control=cache)

    return page
