"""Event callbacks per service, shared by the sync and async realtime connections.

The server emits ``"<path> <event>"`` (``"runs patched"``) with the record as the only argument.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("python_client")
Callback = Callable[[Any], Any]


def split_event(name: str) -> tuple[str, str] | None:
    """``"runs patched"`` → ``("runs", "patched")``; None for events that are not service events."""
    path, sep, event = name.rpartition(" ")
    return (path, event) if sep and path and event else None


class Subscriptions:
    """``(path, event) → callbacks`` (thread-safe: callbacks are added from any thread)."""

    def __init__(self) -> None:
        self._callbacks: dict[tuple[str, str], list[Callback]] = {}
        self._lock = threading.Lock()

    def add(self, path: str, event: str, callback: Callback) -> None:
        with self._lock:
            self._callbacks.setdefault((path, event), []).append(callback)

    def remove(self, path: str, event: str, callback: Callback | None = None) -> None:
        """Remove one callback, or every callback of the event when ``callback`` is None."""
        with self._lock:
            callbacks = self._callbacks.get((path, event), [])
            if callback is None:
                callbacks.clear()
            elif callback in callbacks:
                callbacks.remove(callback)

    def callbacks(self, name: str) -> list[Callback]:
        """The callbacks registered for the wire event ``name``."""
        key = split_event(name)
        if key is None:
            return []
        with self._lock:
            return list(self._callbacks.get(key, ()))

    def __bool__(self) -> bool:
        with self._lock:
            return any(self._callbacks.values())


def report(callback: Callback, exc: BaseException) -> None:
    """A callback raised: log it (one subscriber's bug must not stop the others)."""
    log.error("realtime callback %r raised %s: %s", callback, type(exc).__name__, exc, exc_info=exc)
