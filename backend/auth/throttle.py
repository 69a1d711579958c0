"""Login throttling: too many failures for one client address or one email answer 429 for a while.

Failures are counted per key (``ip:<address>``, ``email:<address>``) in a sliding window. While a
key has ``max_failures`` failures in the last ``window`` seconds, attempts on it are refused before
any password is checked. A success clears the email's count (not the address's: an attacker with an
account of their own must not be able to reset it). Counts live in the process: with several
replicas each one counts its own share.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from ..errors import TooManyRequests

MAX_KEYS = 100_000  # bound memory under a spray of distinct addresses/emails


class LoginThrottle:
    def __init__(self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def check(self, *keys: str) -> None:
        """TooManyRequests (429) when any of ``keys`` is over its limit."""
        now = self._clock()
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self.max_failures:
                retry = max(1, int(times[0] + self.window - now + 0.999))
                raise TooManyRequests("Too many failed login attempts, try again later",
                                      data={"retryAfter": retry})

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            times = self._failures.pop(key, None) or deque(maxlen=self.max_failures)
            times.append(now)
            self._failures[key] = times  # most recently failed last, so eviction drops the oldest
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
