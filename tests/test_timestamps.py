"""``now_iso`` (cached per-second prefix) formats every instant as ``datetime.now(UTC)`` would."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from backend.hooklib import timestamps

S = 1_000_000_000  # nanoseconds per second


def reference(ns: int) -> str:
    """The instant as datetime holds it (microseconds, floored), in the original strftime form."""
    d = datetime.fromtimestamp(ns // S, UTC) + timedelta(microseconds=(ns % S) // 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


@pytest.mark.parametrize("ns", [1_800_000_000 * S, 1_800_000_000 * S + 999_999, 1_800_000_000 * S + 998_000_000,
                                1_800_000_000 * S + 999_999_999, 1_800_000_001 * S, 1_799_999_999 * S + 999_500_000,
                                1_830_297_599 * S + 999_999_000, 1_000_000])
def test_each_instant_as_datetime_formats_it(monkeypatch: pytest.MonkeyPatch, ns: int) -> None:
    monkeypatch.setattr(timestamps.time, "time_ns", lambda: ns)
    assert timestamps.now_iso() == reference(ns)


def test_crossing_seconds_renews_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    base = 1_800_000_000 * S
    ticks = iter([base + 998_000_000, base + 999_999_999, base + S, base + 59 * S + 500_000_000, base + 60 * S])
    monkeypatch.setattr(timestamps.time, "time_ns", lambda: next(ticks))
    assert [timestamps.now_iso() for _ in range(5)] == [
        "2027-01-15T08:00:00.998Z", "2027-01-15T08:00:00.999Z", "2027-01-15T08:00:01.000Z",
        "2027-01-15T08:00:59.500Z", "2027-01-15T08:01:00.000Z"]


def test_real_clock_agrees_with_datetime() -> None:
    before = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stamp = timestamps.now_iso()
    time.sleep(0.002)
    after = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert before <= stamp <= after
