"""``createdAt`` / ``updatedAt`` as ISO-8601 UTC strings (JavaScript's ``toISOString`` form)."""

from __future__ import annotations

from datetime import UTC, datetime

from ..hooks import HookContext


def now_iso() -> str:
    """``2026-11-22T11:02:00.123Z``: sorts and range-compares as text in every adapter."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


async def timestamps(ctx: HookContext) -> None:
    """Before create: set both fields; before update/patch: set ``updatedAt``."""
    stamp = now_iso()
    items = ctx.data if isinstance(ctx.data, list) else [ctx.data]
    for item in items:
        if not isinstance(item, dict):
            continue  # the adapter answers 400 for non-objects
        if ctx.method == "create":
            item["createdAt"] = stamp
        if ctx.method in ("create", "update", "patch"):
            item["updatedAt"] = stamp


TIMESTAMP_HOOKS = {"before": {"create": [timestamps], "update": [timestamps], "patch": [timestamps]}}
