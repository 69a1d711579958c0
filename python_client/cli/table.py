"""Output of the commands: aligned text tables for people, JSON for scripts."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

MAX_CELL = 48  # characters of one cell in a table (JSON output is never cut)


def cell(value: Any) -> str:
    """``value`` as a short table cell: ``-`` for nothing, numbers to 6 significant digits, other
    structures as compact JSON, each cut at :data:`MAX_CELL` characters."""
    if value is None or value == "":
        text = "-"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.6g}" if math.isfinite(value) else str(value)
    elif isinstance(value, (int, str)):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), default=str)
    text = re.sub(r"[\r\n\t]+", " ", text)  # one line (leading spaces stay: they indent)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def when(stamp: Any) -> str:
    """An ISO-8601 UTC time stamp to the minute (``2024-12-04 17:18``)."""
    if not isinstance(stamp, str) or len(stamp) < 16:
        return cell(stamp)
    return stamp[:16].replace("T", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> str:
    """``rows`` under ``headers``, in columns two spaces apart (cells made by :func:`cell`), each
    line after ``indent``."""
    text_rows = [[cell(v) for v in row] for row in rows]
    all_rows = [list(headers), *text_rows]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(headers))]
    lines = [indent + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in all_rows]
    return "\n".join(lines)


def pairs(items: Iterable[tuple[str, Any]], indent: str = "  ") -> str:
    """``key  value`` lines, keys aligned."""
    items = list(items)
    if not items:
        return f"{indent}-"
    width = max(len(k) for k, _ in items)
    return "\n".join(f"{indent}{k.ljust(width)}  {cell(v)}".rstrip() for k, v in items)


def dumps(value: Any) -> str:
    """``value`` as indented JSON."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
