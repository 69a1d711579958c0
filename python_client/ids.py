"""Client-chosen record ids, so that creating a record can be repeated safely.

A create that carries its ``_id`` is idempotent: if the first attempt reached the server, a
repeat answers 409 Conflict and the client knows the record exists. The ids have the form the
server gives (24 hex digits, MongoDB ObjectId layout: seconds, random, counter), so they are
valid on every adapter and sort roughly by creation time.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

_RANDOM = os.urandom(5)
_COUNTER = itertools.count(int.from_bytes(os.urandom(3), "big"))
_LOCK = threading.Lock()
_PID = os.getpid()


def object_id() -> str:
    """A fresh 24-hex id, unique across processes and machines."""
    global _RANDOM, _PID
    with _LOCK:
        if os.getpid() != _PID:  # a forked child must not repeat its parent's ids
            _PID, _RANDOM = os.getpid(), os.urandom(5)
        count = next(_COUNTER) & 0xFFFFFF
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{_RANDOM.hex()}{count:06x}"
