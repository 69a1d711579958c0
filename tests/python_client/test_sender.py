"""The background sender: notices never block, dropped notices lose nothing, failures back off."""

from __future__ import annotations

import threading
import time

from python_client.sender import BackgroundSender


class Source:
    """A state that changes (``version``) and a sync step that records which version it sent."""

    def __init__(self) -> None:
        self.version = 0
        self.sent: list[int] = []
        self.fail = 0  # the next ``fail`` steps raise
        self.gate = threading.Event()
        self.gate.set()

    def step(self) -> None:
        self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise ConnectionError("backend down")
        self.sent.append(self.version)


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
    deadline = time.monotonic() + 30
    while src.sent != [1]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert sender.wait(None) and not sender.offline
    sender.close()


def test_close_stops_a_sender_that_is_backing_off() -> None:
    src = Source()
    src.fail = 1000
    sender = BackgroundSender(src.step, lambda: src.version, describe=lambda: "run", backoff=10, max_backoff=10)
    src.version = 1
    sender.notify()
    assert not sender.wait(5)
    sender.close(timeout=5)
    assert not sender.alive
