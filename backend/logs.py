"""Logging helpers: one WARNING line for what clients can make happen at will.

A client that disconnects mid-upload, sends a malformed frame or trickles its headers must not be
able to fill the log (or hide other lines in it): such events are logged once per ``every``
seconds and kind, with how many were left out since the last line.
"""

from __future__ import annotations

import logging
import time
from typing import Any


class RateLimitedLog:
    """A logger that writes at most one line per ``every`` seconds for each ``kind``."""

    def __init__(self, name: str, every: float = 60.0) -> None:
        self.logger = logging.getLogger(name)
        self.every = every
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: Any) -> bool:
        """Log ``message % args`` at WARNING unless ``kind`` was logged less than ``every`` seconds
        ago; returns whether it was written."""
        now = time.monotonic()
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
