"""The retry decisions (``python_client.retry.steps``), step by step, without any I/O.

The shells carry them out against a real server in ``test_faults.py``; here the sequence itself is
pinned: which outcome leads to which step, and what the raised error carries.
"""

from __future__ import annotations

from python_client.errors import ConnectionFailed, NotFound, Unavailable
from python_client.retry import (
    Answered,
    Failure,
    Lost,
    Raise,
    Refused,
    RetryPolicy,
    Return,
    Send,
    Sleep,
    steps,
)

POLICY = RetryPolicy(attempts=3, backoff=0.5, jitter=0)
CAUSE = OSError("reset")


def run(repeatable: bool, *outcomes: object) -> list[object]:
    """The steps taken when the attempts give ``outcomes`` in turn."""
    plan, taken, feed = steps(POLICY, repeatable), [], iter(outcomes)
    step = plan.send(None)
    while True:
        taken.append(step)
        if isinstance(step, (Raise, Return)):
            return taken
        step = plan.send(next(feed) if isinstance(step, Send) else None)


def test_success_returns_at_once() -> None:
    assert run(False, Answered({"x": 1})) == [Send(1), Return({"x": 1})]


def test_a_transient_answer_is_retried_with_back_off_then_succeeds() -> None:
    busy = Refused(Unavailable("busy"), 503)
    assert run(True, busy, busy, Answered(None)) == [Send(1), Sleep(0.5), Send(2), Sleep(1.0), Send(3), Return(None)]


def test_retry_after_wins_over_the_back_off() -> None:
    assert run(True, Refused(Unavailable("busy"), 429, 7.0), Answered(1))[1] == Sleep(7.0)


def test_the_last_error_is_raised_with_its_attempts() -> None:
    error = Unavailable("busy")
    taken = run(True, *[Refused(error, 503)] * 3)
    assert taken[-1] == Raise(error) and error.attempts == 3 and len(taken) == 6


def test_lasting_answers_and_unrepeatable_calls_are_not_retried() -> None:
    missing = NotFound("gone")
    assert run(True, Refused(missing, 404)) == [Send(1), Raise(missing)]
    busy = Unavailable("busy")
    assert run(False, Refused(busy, 503)) == [Send(1), Raise(busy)]


def test_a_request_that_never_left_is_retried_even_when_not_repeatable() -> None:
    refused = ConnectionFailed("refused")
    taken = run(False, *[Lost(Failure.NOT_SENT, refused, CAUSE)] * 3)
    assert taken[-1] == Raise(refused, CAUSE) and refused.attempts == 3 and refused.maybe_sent is False
    lost = ConnectionFailed("lost")
    assert run(False, Lost(Failure.MAYBE_SENT, lost, CAUSE)) == [Send(1), Raise(lost, CAUSE)]
    assert lost.maybe_sent is True and lost.attempts == 1
