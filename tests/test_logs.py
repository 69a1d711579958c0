"""Logging helpers: URLs shown without passwords, SQLite databases by their absolute file, and
one WARNING line a window for what clients can make happen at will."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from backend.logs import RateLimitedLog, database_label, safe_url


@pytest.mark.parametrize(("url", "shown"), [
    ("mongodb://ann:secret@db:27017/plume", "mongodb://ann:***@db:27017/plume"),
    ("mongodb://ann:p@ss:w@rd@db/plume?authSource=admin", "mongodb://ann:***@db/plume?authSource=admin"),
    ("mongodb://ann@db/plume", "mongodb://ann@db/plume"),  # a user without a password
    ("mongodb://db/plume", "mongodb://db/plume"),
    ("redis://:secret@cache:6379/0", "redis://:***@cache:6379/0"),
    ("not a url", "not a url"),
])
def test_safe_url(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_database_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_label("sqlite:///data/plume.sqlite3") == f"sqlite:///{tmp_path.resolve().as_posix()}/data/plume.sqlite3"
    assert database_label(f"sqlite:///{tmp_path}/x.db") == f"sqlite:///{tmp_path.resolve().as_posix()}/x.db"
    assert database_label("sqlite://") == "sqlite://"
    assert database_label("mongodb://ann:pw@db/plume") == "mongodb://ann:***@db/plume"


class Clock:
    """Seconds the test sets (the windows are a minute: no test waits that long)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name and r.levelno == logging.WARNING]


def test_a_rate_limited_log_writes_one_line_per_window_and_kind(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    clock = Clock()
    log = RateLimitedLog("tests.rate_limited", every=60.0, clock=clock)
    written = []
    for i in range(100):  # 100 repeats over 59.4 s: one window
        written.append(log.warning("gone", "client %d went away", i))
        clock.now += 0.6
    assert written == [True] + [False] * 99
    assert lines(caplog, "tests.rate_limited") == ["client 0 went away"]
    assert log.warning("other", "another kind") is True  # each kind has its own window
    clock.now = 1000.0 + 60.0  # the next window: one line, saying how many were left out
    assert log.warning("gone", "client %d went away", 100) is True
    assert log.warning("gone", "client %d went away", 101) is False
    assert lines(caplog, "tests.rate_limited") == [
        "client 0 went away", "another kind",
        "client 100 went away (and 99 more like it in the last 60 s)"]
    clock.now += 60.0
    assert log.warning("gone", "client %d went away", 102) is True
    assert lines(caplog, "tests.rate_limited")[-1] == "client 102 went away (and 1 more like it in the last 60 s)"
