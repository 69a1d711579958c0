"""Run Plume inside the test's event loop on a free loopback port (fast async tests).

    async with running(tmp_path, database="memory://") as srv:
        srv.url, srv.app          # base URL and the App (for server-side assertions)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from backend.app import App
from backend.config import load_settings
from backend.runner import HANDLER_ARGS, PlumeRunner
from backend.web import APP_KEY, create_web_app

from .server import free_port


@dataclass
class Running:
    url: str
    port: int
    app: App
    runner: web.AppRunner


@asynccontextmanager
async def running(data_dir: Path, *, config: str | None = None, **overrides: Any) -> AsyncIterator[Running]:
    """Start a real aiohttp server (both transports) for ``load_settings(config, overrides)``."""
    cfg_path = None
    if config is not None:
        cfg_path = Path(data_dir) / "plume.toml"
        cfg_path.write_text(config)
    port = free_port()
    settings = load_settings(cfg_path, {"data_dir": str(data_dir), "port": port, **overrides}, environ={})
    web_app = await create_web_app(settings)
    runner = PlumeRunner(web_app, shutdown_timeout=5, **HANDLER_ARGS)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield Running(f"http://127.0.0.1:{port}", port, web_app[APP_KEY], runner)
    finally:
        await runner.cleanup()
