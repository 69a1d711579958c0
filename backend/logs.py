"""Logging helpers: one WARNING line for what clients can make happen at will.

A client that disconnects mid-upload, sends a malformed frame or trickles its headers must not be
able to fill the log (or hide other lines in it): such events are logged once per ``every``
seconds and kind, with how many were left out since the last line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class RateLimitedLog:
    """A logger that writes at most one line per ``every`` seconds for each ``kind`` (``clock``:
    where the seconds come from)."""

    def __init__(self, name: str, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logging.getLogger(name)
        self.every = every
        self.clock = clock
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: Any) -> bool:
        """Log ``message % args`` at WARNING unless ``kind`` was logged less than ``every`` seconds
        ago; returns whether it was written."""
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return False
        self._last[kind] = now
        skipped = self._skipped.pop(kind, 0)
        if skipped:
            message += f" (and {skipped} more like it in the last {self.every:g} s)"
        self.logger.warning(message, *args)
        return True


def safe_url(url: str) -> str:
    """``url`` fit for a log line or a terminal: a password in it is replaced by ``***``
    (``mongodb://ann:secret@db/plume`` → ``mongodb://ann:***@db/plume``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"


def database_label(url: str) -> str:
    """The database URL as people should read it: a SQLite file by its absolute path (``./data``
    is relative to wherever the server started), never a password."""
    if url.startswith("sqlite:"):
        from .storage import sqlite_path

        path = sqlite_path(url)
        if path != ":memory:":
            return f"sqlite:///{Path(path).resolve().as_posix()}"
    return safe_url(url)
