"""When a failed call may be repeated, and how long to wait first (shared by the sync and async clients).

A call is repeated only when repeating it is safe:

* the request never reached the server (connection refused, unknown host, connect timeout):
  any call, uploads and creates included;
* the server may have received it (reset mid-way, no answer in time) or answered 429 or a 5xx
  (except 501, which is permanent): only idempotent calls — find, get, and update, patch, remove
  of one record (not the query-wide ``patch(None, ...)``/``remove(None, ...)``), and a create
  whose data carries its own id (a repeat then answers 409, which the client reads as "already
  created", see :mod:`python_client.http`). The method table decides
  (:meth:`python_client.methods.MethodSpec.repeatable`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from time import time


class Failure(Enum):
    """How a transport attempt failed."""

    NOT_SENT = "not sent"  # the server never saw the request
    MAYBE_SENT = "maybe sent"  # it may have been processed


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Timeouts and retries of every call.

    Attributes:
        attempts: Tries in all (1 disables retries).
        backoff: Delay before the first retry, in seconds; doubled at each retry.
        max_backoff: Upper bound of one delay.
        jitter: Random spread of each delay (fraction), so clients that failed together do not
            retry together.
        max_retry_after: Upper bound on a server's ``Retry-After``.
    """

    attempts: int = 4
    backoff: float = 0.25
    max_backoff: float = 5.0
    jitter: float = 0.25
    max_retry_after: float = 30.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        base = min(self.backoff * 2 ** (retry - 1), self.max_backoff)
        return base * (1 + self.jitter * (2 * random.random() - 1))


NO_RETRY = RetryPolicy(attempts=1)


def may_retry_transport(failure: Failure, repeatable: bool) -> bool:
    """After a transport failure: retry if the server never saw the request, or the call is repeatable."""
    return failure is Failure.NOT_SENT or repeatable


def may_retry_status(status: int, repeatable: bool) -> bool:
    """After an error answer: only repeatable calls, and only for 429 and transient 5xx."""
    return repeatable and status in RETRY_STATUSES


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None
