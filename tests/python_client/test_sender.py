"""The background sender: notices never block, dropped notices lose nothing, failures back off."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from python_client.errors import NotAuthenticated, RequestTimeout, Unavailable
from python_client.sender import BackgroundSender


class Source:
    """A state that changes (``version``) and a sync step that records which version it sent."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.version = 0
        self.sent: list[int] = []
        self.fail = 0  # the next ``fail`` steps raise ``error``
        self.error = error or ConnectionError("backend down")
        self.steps = 0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()  # a pass started
        self.changed = threading.Condition()

    def step(self) -> None:
        self.entered.set()
        self.gate.wait()
        with self.changed:
            self.steps += 1
            self.changed.notify_all()
            if self.fail:
                self.fail -= 1
                raise self.error
            self.sent.append(self.version)

    def until(self, check: Callable[[], bool]) -> None:
        """Wait until ``check()`` holds after some pass (a guard against a hang, not a time bound)."""
        with self.changed:
            assert self.changed.wait_for(check, timeout=60), "the condition never held"


def until_dead(sender: BackgroundSender) -> None:
    """Wait for the sender's thread to end (a guard against a hang, not a time bound)."""
    sender._thread.join(60)
    assert not sender.alive


def test_every_change_is_sent_even_when_notices_are_dropped() -> None:
    src = Source()
    sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run", max_queue=2)
    src.gate.clear()  # the sender is stuck in a slow pass: notices pile up
    for _ in range(50):
        src.version += 1
        sender.notify()  # never blocks
    assert sender.dropped > 0
    src.gate.set()
    assert sender.wait(10)
    assert src.sent[-1] == 50 and len(src.sent) < 50  # coalesced passes, the last one complete
    sender.close()
    assert not sender.alive


def test_a_failing_backend_makes_wait_return_at_once_and_is_caught_up_later() -> None:
    src = Source()
    sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run", backoff=0.05, max_backoff=0.2)
    src.fail = 1000
    src.version = 1
    sender.notify()
    assert not sender.wait(None)  # no timeout at all: a failed pass ends the wait (else this hangs)
    assert sender.offline and isinstance(sender.last_error, ConnectionError)
    src.fail = 0  # the backend is back: the sender's back-off retry catches up without a new notice
    src.until(lambda: src.sent == [1])
    assert sender.wait(None) and not sender.offline
    sender.close()


def test_close_stops_a_sender_that_is_backing_off() -> None:
    src = Source()
    src.fail = 1000
    sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run", backoff=10, max_backoff=10,
                              give_up_after=1)
    src.version = 1
    sender.notify()
    assert not sender.wait(None)  # a refused pass ends the wait (no timeout: else this hangs)
    assert sender.offline and sender.failures == 1  # and the sender backs off for 10 s
    sender.close(timeout=5)  # wakes it at once: the join does not reach the back-off's end
    assert not sender.alive


def timeout_error() -> RequestTimeout:
    error = RequestTimeout("No answer in time")
    error.maybe_sent = True  # the server may have seen it: slow, not away
    return error


@pytest.mark.parametrize("error", [Unavailable("busy"), timeout_error(), ConnectionError("refused once")],
                         ids=["503", "timeout", "refused-once"])
def test_a_passing_failure_does_not_end_the_wait(error: BaseException) -> None:
    src = Source(error)
    src.fail = 2
    src.version = 1
    sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run", backoff=0.05)
    assert sender.wait(30)  # retried until it succeeds, not given up at the first failed pass
    assert src.sent == [1] and sender.failures == 2
    sender.close()


@pytest.mark.parametrize("error", [NotAuthenticated("Not authenticated"), TypeError("a bug")], ids=["401", "bug"])
def test_a_lasting_error_stops_the_sender_and_says_why(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    src = Source(error)
    src.fail = 1000
    src.version = 1
    with caplog.at_level(logging.WARNING, logger="python_client"):
        sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run r", backoff=0.01)
        assert not sender.wait(None)  # no timeout at all: the lasting error ends the wait (else this hangs)
        until_dead(sender)  # the sender stopped by itself, after one pass
        for _ in range(5):
            src.version += 1
            sender.notify()  # training goes on: notices are taken, never block, send nothing
    assert src.steps == 1 and sender.stopped_by is error
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    if isinstance(error, NotAuthenticated):
        assert "authentication failed" in record.getMessage() and "PLUME_API_KEY" in record.getMessage()
        assert record.exc_info is None  # the cause is named: no traceback needed
    else:
        assert "an error in the Plume client (TypeError: a bug)" in record.getMessage()
        assert record.exc_info is not None  # log.exception: the traceback of the bug
    sender.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_wait_without_timeout_ends_when_the_thread_died() -> None:
    src = Source(SystemExit(3))  # not an Exception: the thread dies of it
    src.fail = 1
    src.version = 1
    sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run")
    assert not sender.wait(None)  # no timeout at all: the dead thread ends the wait (else this hangs)
    until_dead(sender)


def test_close_does_not_block_on_a_full_queue() -> None:
    src = Source()
    sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run", max_queue=1)
    src.gate.clear()  # the sender is stuck in a pass, its queue full
    src.version = 1
    sender.notify()
    assert src.entered.wait(60)  # the thread took the notice and is in its pass
    for _ in range(3):
        sender.notify()
    sender.close(timeout=0.5)  # a blocking put on the full queue would never return: the pass never ends
    assert sender.alive  # close returned while the pass still runs
    src.gate.set()
    until_dead(sender)  # the pass over, the thread saw it was closed
