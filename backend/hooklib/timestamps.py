"""``createdAt`` / ``updatedAt`` as ISO-8601 UTC strings (JavaScript's ``toISOString`` form)."""

from __future__ import annotations

import time

from ..hooks import HookContext

# (second, "YYYY-MM-DDTHH:MM:SS.") of the last stamp: formatting the date part once per second
# instead of on every write (strftime was ~5% of a patch). One tuple, swapped whole, so threads
# never see a second paired with another second's prefix.
_prefix: tuple[int, str] = (-1, "")


def iso_at(t: float) -> str:
    """``t`` (POSIX seconds) in the same form as :func:`now_iso`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def now_iso() -> str:
    """``2026-11-22T11:02:00.123Z``: sorts and range-compares as text in every adapter."""
    global _prefix
    ms = time.time_ns() // 1_000_000  # integers: floors exactly as datetime.now() does, no float rounding
    second = ms // 1000
    cached = _prefix
    if cached[0] != second:
        cached = _prefix = (second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)))
    return f"{cached[1]}{ms % 1000:03d}Z"


async def timestamps(ctx: HookContext) -> None:
    """Before create: set both fields; before update/patch: set ``updatedAt``."""
    stamp = now_iso()
    method = ctx.method
    items = ctx.data if isinstance(ctx.data, list) else [ctx.data]
    for item in items:
        if not isinstance(item, dict):
            continue  # the adapter answers 400 for non-objects
        if method == "create":
            item["createdAt"] = stamp
        if method in ("create", "update", "patch"):
            item["updatedAt"] = stamp


TIMESTAMP_HOOKS = {"before": {"create": [timestamps], "update": [timestamps], "patch": [timestamps]}}
