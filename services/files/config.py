"""Validation helpers for the plugin-owned config tables (``[uploads]``, ``[assets]``, ``[conversion]``).

A wrong value stops the server at start with a :class:`backend.config.ConfigError` naming it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from backend.config import MB, ConfigError, Settings

DEFAULT_MAX_UPLOAD = 200 * MB
DEFAULT_MAX_PARTS = 256  # a TF.js model of 200 MB in 4 MB shards has about 50


@dataclass(frozen=True)
class UploadLimits:
    """``[uploads]``: what one upload request may store."""

    max_size: int = DEFAULT_MAX_UPLOAD  # bytes of files
    max_parts: int = DEFAULT_MAX_PARTS  # multipart parts, files or not


def section(settings: Settings, name: str, allowed: Collection[str]) -> Mapping[str, Any]:
    """Table ``[name]`` of the config; ConfigError on a key outside ``allowed``."""
    table = settings.section(name)
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    unknown = set(table) - set(allowed)
    if unknown:
        raise ConfigError(f"[{name}]: unknown option(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return table


def number(table: Mapping[str, Any], where: str, key: str, default: float, *, integer: bool = True) -> Any:
    """A positive number ``table[key]`` (``default`` when absent); ConfigError otherwise."""
    value = table.get(key, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        kind = "integer" if integer else "number"
        raise ConfigError(f"[{where}] {key} must be a positive {kind}, got {value!r}")
    return value


def upload_limits(settings: Settings) -> UploadLimits:
    """``[uploads] max_size`` (bytes one upload request may store, default 200 MB) and
    ``max_parts`` (parts it may have, default 256)."""
    table = section(settings, "uploads", {"max_size", "max_parts"})
    return UploadLimits(number(table, "uploads", "max_size", DEFAULT_MAX_UPLOAD),
                        number(table, "uploads", "max_parts", DEFAULT_MAX_PARTS))
