"""When a failed call may be repeated, and how long to wait first (shared by the sync and async clients).

A call is repeated only when repeating it is safe:

* the request never reached the server (connection refused, unknown host, connect timeout):
  any call, uploads and creates included;
* the server may have received it (reset mid-way, no answer in time) or answered 429 or a 5xx
  (except 501, which is permanent): only idempotent calls — find, get, and update, patch, remove
  of one record (not the query-wide ``patch(None, ...)``/``remove(None, ...)``), and a create
  whose data carries its own id (a repeat then answers 409, which the client reads as "already
  created", see :mod:`python_client.servicebase`). The method table decides
  (:meth:`python_client.methods.MethodSpec.repeatable`).

:func:`steps` turns those rules into decisions, without doing any I/O: it says "send attempt n",
"sleep d seconds", "raise e" or "return v", and is told what each attempt gave. The sync shell
(:mod:`python_client.http`) and the async one (:mod:`python_client.aio_http`) each consume it
with a small loop (``time.sleep`` or ``asyncio.sleep``, ``requests`` or ``aiohttp``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Generator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from time import time
from typing import Any

from .errors import FeathersError, PlumeError, TransportError

log = logging.getLogger("python_client")


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


# ---------------------------------------------------------------------- what one attempt gave
@dataclass(frozen=True)
class Answered:
    """The server answered with success; ``value`` is the decoded result."""

    value: Any


@dataclass(frozen=True)
class Refused:
    """The server answered with an error (``retry_after``: its ``Retry-After``, in seconds)."""

    error: FeathersError
    status: int
    retry_after: float | None = None


@dataclass(frozen=True)
class Lost:
    """No usable answer: the request failed in transport (``cause`` is the library's exception)."""

    failure: Failure
    error: TransportError
    cause: BaseException


Outcome = Answered | Refused | Lost


# ---------------------------------------------------------------------- what to do next
@dataclass(frozen=True)
class Send:
    """Send attempt number ``attempt`` (1-based) and report its :data:`Outcome`."""

    attempt: int


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` before the next attempt."""

    seconds: float


@dataclass(frozen=True)
class Raise:
    """Give up: raise ``error`` (from ``cause``)."""

    error: PlumeError
    cause: BaseException | None = None

    def resolve(self) -> Any:
        raise self.error from self.cause


@dataclass(frozen=True)
class Return:
    """Done: the call's result is ``value``."""

    value: Any

    def resolve(self) -> Any:
        return self.value


Step = Send | Sleep | Raise | Return


def steps(policy: RetryPolicy, repeatable: bool, label: str = "request") -> Generator[Step, Outcome | None, None]:
    """The decisions of one call under ``policy``; send each :class:`Send` step its :data:`Outcome`.

    A driver loop::

        plan, outcome = steps(policy, repeatable), None
        while True:
            step = plan.send(outcome)
            if isinstance(step, Send): outcome = attempt()          # (await) one HTTP exchange
            elif isinstance(step, Sleep): sleep(step.seconds); outcome = None
            else: return step.resolve()      # Return: the value; Raise: raises the error

    The error raised carries ``attempts`` (and, for transport failures, ``maybe_sent``).
    """
    attempt = 0
    while True:
        attempt += 1
        outcome = yield Send(attempt)
        if isinstance(outcome, Answered):
            yield Return(outcome.value)
            return
        if isinstance(outcome, Lost):
            may_retry, retry_after = may_retry_transport(outcome.failure, repeatable), None
        elif isinstance(outcome, Refused):
            may_retry, retry_after = may_retry_status(outcome.status, repeatable), outcome.retry_after
        else:
            raise TypeError(f"an attempt must report an Outcome, not {outcome!r}")
        if attempt < policy.attempts and may_retry:
            delay = policy.delay(attempt, retry_after)
            log.debug("%s failed (%s); retry %d in %.2fs", label, outcome.error, attempt, delay)
            yield Sleep(delay)
            continue
        outcome.error.attempts = attempt
        if isinstance(outcome, Lost):
            outcome.error.maybe_sent = outcome.failure is Failure.MAYBE_SENT
            yield Raise(outcome.error, outcome.cause)
        else:
            yield Raise(outcome.error)
        return
