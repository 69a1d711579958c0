"""``[tracking]``: limits of the metrics service.

```toml
[tracking]
max_points = 10000        # points one create may write (a larger batch: 413)
max_downsample = 10000    # the largest n of ?$downsample=<n>
history_page = 10000      # the largest page of a metrics find ($limit)
```
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.config import Settings
from services.files.config import number, section


@dataclass(frozen=True)
class TrackingSettings:
    max_points: int = 10_000
    max_downsample: int = 10_000
    history_page: int = 10_000


def tracking_settings(settings: Settings) -> TrackingSettings:
    """Read and check ``[tracking]`` (ConfigError naming a bad option)."""
    table = section(settings, "tracking", {"max_points", "max_downsample", "history_page"})
    defaults = TrackingSettings()
    return TrackingSettings(
        max_points=number(table, "tracking", "max_points", defaults.max_points),
        max_downsample=number(table, "tracking", "max_downsample", defaults.max_downsample),
        history_page=number(table, "tracking", "history_page", defaults.history_page),
    )
