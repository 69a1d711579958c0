"""``runs``: training runs in Marcelle's format (written by the Python client's Writer)."""

from __future__ import annotations

from backend.app import App
from backend.plugins import Plugin, use_stored


async def setup(app: App) -> None:
    """Register the ``runs`` service with its schema (extra fields allowed)."""
    await use_stored(app, "runs", schema="runs", multi=["remove"])


plugin = Plugin("runs", setup)
