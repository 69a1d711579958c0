"""``[registry]``: the weights upload limit and the default conversions of Keras weights.

A wrong value stops the server at start with a :class:`backend.config.ConfigError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.config import ConfigError, Settings
from services.files.config import number, section
from services.models.conversion import TARGETS

GB = 1024**3
DEFAULT_MAX_SIZE = 8 * GB  # weights files are far larger than the [uploads] default (200 MB) allows


@dataclass(frozen=True)
class RegistrySettings:
    """``[registry] max_size`` (bytes of one weights upload) and ``convert`` (formats a .keras/.h5
    version stored by Plume is converted to, unless its model says otherwise)."""

    max_size: int = DEFAULT_MAX_SIZE
    convert: tuple[str, ...] = TARGETS

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistrySettings:
        """Read and validate ``[registry]``."""
        table = section(settings, "registry", {"max_size", "convert"})
        convert = table.get("convert", list(TARGETS))
        if not isinstance(convert, list) or not set(convert) <= set(TARGETS) or len(set(convert)) != len(convert):
            raise ConfigError(f"[registry] convert must be a list of distinct formats among {list(TARGETS)}, "
                              f"got {convert!r}")
        return cls(max_size=number(table, "registry", "max_size", DEFAULT_MAX_SIZE), convert=tuple(convert))
