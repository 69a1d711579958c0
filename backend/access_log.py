"""The access log (``plume serve --access-log``): one INFO line per request, without credentials.

    GET /people?age[$gt]=30 200 2ms from 127.0.0.1

A line has the method, the path as the client sent it (cut at :data:`MAX_TARGET` characters), the
status, the time to answer and the client's address. Headers are never logged (so neither is
``Authorization``), and the value of a query parameter whose name looks like it may hold a
secret (``accessToken``, ``api_key``, engine.io's ``sid``...) is replaced by ``***``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

LOGGER = "plume.access"
MAX_TARGET = 300
#: Query parameter names whose values are never logged (matched anywhere in the name, any case).
SECRET_NAMES = re.compile(r"token|key|secret|pass|auth|sid|session|jwt|signature|credential", re.IGNORECASE)
_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f]")


def redacted_target(raw: str) -> str:
    """The request target ``raw`` (path and query) with secret-looking query values hidden."""
    path, sep, query = raw.partition("?")
    if sep:
        parts = []
        for item in query.split("&"):
            name, eq, _ = item.partition("=")
            parts.append(f"{name}=***" if eq and SECRET_NAMES.search(unquote_plus(name)) else item)
        raw = f"{path}?{'&'.join(parts)}"
    raw = _UNPRINTABLE.sub(lambda m: f"%{ord(m.group()):02X}", raw)  # one line, one field
    return raw if len(raw) <= MAX_TARGET else raw[:MAX_TARGET] + "..."


class AccessLog(AbstractAccessLogger):
    """aiohttp's access-logger interface writing Plume's line (see the module docstring)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        # Whole milliseconds: the event loop's clock (uvloop's) has no finer resolution.
        self.logger.info("%s %s %d %dms from %s", request.method, redacted_target(request.raw_path),
                         response.status, round(time * 1000), request.remote or "-")

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def access_logger() -> logging.Logger:
    """The logger of the access log."""
    return logging.getLogger(LOGGER)
