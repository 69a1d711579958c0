"""Login throttling: too many failures for one client address or one email answer 429 for a while.

Failures are counted per key (``ip:<address>``, ``email:<address>``) in a sliding window. While a
key has ``max_failures`` failures in the last ``window`` seconds, attempts on it are refused before
any password is checked. Attempts still being checked count as failures until they end, so a burst
of parallel guesses cannot all pass the check before the first one fails (checking a password is
slow). A success clears the email's count (not the address's: an attacker with an account of their
own must not be able to reset it). Counts live in the process: with several replicas each one
counts its own share.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import TooManyRequests

MAX_KEYS = 100_000  # bound memory under a spray of distinct addresses/emails


class Attempt:
    """One login attempt in flight: a failure unless :meth:`succeeded` is called."""

    def __init__(self) -> None:
        self.ok = False

    def succeeded(self) -> None:
        """The credentials were right."""
        self.ok = True


class LoginThrottle:
    """Sliding-window failure counts per key, in this process."""

    def __init__(self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._pending: Counter[str] = Counter()  # attempts in flight per key (bounded by concurrency)

    @contextmanager
    def attempt(self, *keys: str) -> Iterator[Attempt]:
        """Check ``keys`` (429 when over the limit), then count the attempt as in flight until it
        ends: as a failure unless the body calls ``succeeded()`` on the attempt it is given."""
        self.check(*keys)
        self._pending.update(keys)
        attempt = Attempt()
        try:
            yield attempt
        finally:
            self._pending.subtract(keys)
            for key in keys:
                if self._pending[key] <= 0:
                    del self._pending[key]
            if attempt.ok:
                self.succeeded(keys[-1])
            else:
                self.failed(*keys)

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
            if (len(times) if times is not None else 0) + self._pending[key] >= self.max_failures:
                retry = max(1, int(times[0] + self.window - now + 0.999)) if times else 1
                raise TooManyRequests("Too many failed login attempts, try again later",
                                      data={"retryAfter": retry})

    def failed(self, *keys: str) -> None:
        """Count a failure for each of ``keys``."""
        now = self._clock()
        for key in keys:
            times = self._failures.pop(key, None) or deque(maxlen=self.max_failures)
            times.append(now)
            self._failures[key] = times  # most recently failed last, so eviction drops the oldest
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key`` (the email of a successful login; never the address)."""
        self._failures.pop(key, None)
