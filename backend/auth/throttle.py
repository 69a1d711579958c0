"""Login throttling: too many failures answer 429 for a while, or slow logins down.

Failures are counted per key in a sliding window. Two kinds of key *lock*: while one has
``max_failures`` failures in the last ``window`` seconds, attempts on it are refused before any
password is checked. The login service locks the client address (``ip:<address>``: one client
guessing many accounts) and the pair of address and email (``pair:<address>|<email>``: one client
guessing one account). The email alone only *slows down* (:meth:`LoginThrottle.attempt`'s
``slow`` key): locking it would let anyone, from any address, lock a user out of password login;
slowing it still bounds how fast many addresses together can guess one password, and the user
still gets in.

Attempts still being checked count as failures until they end, so a burst of parallel guesses
cannot all pass the check before the first one fails (checking a password is slow). A success
clears the pair's and the email's counts (not the address's: an attacker with an account of their
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
SLOWDOWN_STEP = 0.25  # seconds of delay per failure of a slow key past max_failures ...
MAX_SLOWDOWN = 2.0  # ... up to this
SLOW_MEMORY = int(MAX_SLOWDOWN / SLOWDOWN_STEP)  # failures past max_failures worth remembering


class Attempt:
    """One login attempt in flight: a failure unless :meth:`succeeded` is called. ``delay`` is how
    long the caller should wait before checking the credentials (see ``slow`` keys)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.ok = False
        self.delay = delay

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
    def attempt(self, *keys: str, slow: str | None = None) -> Iterator[Attempt]:
        """Check the lock ``keys`` (429 when over the limit), then count the attempt as in flight
        until it ends: as a failure of every key (``slow`` included) unless the body calls
        ``succeeded()`` on the attempt it is given, which clears the last lock key and ``slow``."""
        self.check(*keys)
        attempt = Attempt(self.slowdown(slow) if slow is not None else 0.0)
        counted = (*keys, slow) if slow is not None else keys
        self._pending.update(counted)
        try:
            yield attempt
        finally:
            self._pending.subtract(counted)
            for key in counted:
                if self._pending[key] <= 0:
                    del self._pending[key]
            if attempt.ok:
                self.succeeded(keys[-1])
                if slow is not None:
                    self.succeeded(slow)
            else:
                self.failed(*counted)

    def slowdown(self, key: str) -> float:
        """Seconds an attempt on ``key`` waits: nothing up to ``max_failures`` recent failures
        (attempts in flight included), then :data:`SLOWDOWN_STEP` more per failure, at most
        :data:`MAX_SLOWDOWN`."""
        times = self._recent(key, self._clock())
        over = (len(times) if times is not None else 0) + self._pending[key] - self.max_failures + 1
        return min(MAX_SLOWDOWN, SLOWDOWN_STEP * over) if over > 0 else 0.0

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
            # A lock key needs its last max_failures times; a slow key a few more, for its delay.
            times = self._failures.pop(key, None) or deque(maxlen=self.max_failures + SLOW_MEMORY)
            times.append(now)
            self._failures[key] = times  # most recently failed last, so eviction drops the oldest
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key`` (of a successful login's account; never the address)."""
        self._failures.pop(key, None)
