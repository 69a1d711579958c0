"""The dashboard: Plume's web app, served at ``/`` (README: "Dashboard").

The app is built from ``dashboard/`` (Vite; ``scripts/build-dashboard``) into ``static/`` here,
which ships with the package, so a server needs no Node: ``/`` answers ``static/index.html`` and
``/_dashboard/<file>`` the built files (:mod:`backend.pages`). The app talks to the services over
socket.io with the official Feathers client; the one service this plugin adds for it is
``metric-series`` (:mod:`.series`), the curves of each run with their last point.

``[dashboard] enabled = false`` serves no pages (the services stay).
"""

from __future__ import annotations

import logging

from backend.app import App
from backend.config import ConfigError
from backend.pages import static_pages
from backend.plugins import Plugin

from .manifest import STATIC
from .series import setup_series

log = logging.getLogger(__name__)
MOUNT = "/_dashboard"


def _enabled(app: App) -> bool:
    table = dict(app.settings.section("dashboard") or {})
    enabled = table.pop("enabled", True)
    if table:
        raise ConfigError(f"unknown [dashboard] setting(s): {', '.join(sorted(table))} (known: enabled)")
    if not isinstance(enabled, bool):
        raise ConfigError(f"[dashboard] enabled must be true or false, got {enabled!r}")
    return enabled


async def setup(app: App) -> None:
    """Register ``metric-series`` and mount the built app at ``/`` and ``/_dashboard``."""
    enabled = _enabled(app)
    await setup_series(app)
    if not enabled:
        return
    if not (STATIC / "index.html").is_file():
        raise ConfigError(f"the dashboard's build is missing ({STATIC}/index.html): run scripts/build-dashboard, "
                          "or set [dashboard] enabled = false")
    pages = static_pages(STATIC)
    app.mount("/", pages)
    app.mount(MOUNT, pages)


plugin = Plugin("dashboard", setup, sections=("dashboard",))
