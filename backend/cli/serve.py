"""``plume serve``: settings, logging, the app, and serving it until SIGINT/SIGTERM.

The port is bound first (:mod:`.listen`), before the app's setup touches the data folder: a second
server started on a busy port leaves the first one's data alone. The start-up line (``Plume listening
on http://127.0.0.1:3030 (database sqlite:///..., authentication off)``) is printed once the app is
served. A start that fails for a reason the user can fix (a busy port, a database that cannot be
opened) prints one ``plume: cannot start: ...`` line and exits 1 (:mod:`.startup`); a bad setting
exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import socket
import sys

from aiohttp import web
from aiohttp.web_runner import GracefulExit

from ..access_log import AccessLog, access_logger
from ..config import ConfigError, load_settings
from ..logs import database_label
from .listen import close, listen
from .startup import bind_failure, open_failure

EXIT_CONFIG = 2  # a setting is wrong (the message names it)
EXIT_START = 1  # the server could not start (a busy port, a database it cannot open)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``plume serve``."""
    parser.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 3030)")
    parser.add_argument("--database", help="sqlite:///path (default) or mongodb://host/db")
    parser.add_argument("--data-dir", help="data directory (default ./data)")
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--redis", help="redis:// URL: fan events out across processes")
    parser.add_argument("--access-log", action="store_true",
                        help="log one INFO line per request (on too when log_level is DEBUG)")


def serve_main(args: argparse.Namespace) -> int:
    """Run ``plume serve``; returns the exit status."""
    try:
        settings = load_settings(args.config, {"host": args.host, "port": args.port, "database": args.database,
                                               "data_dir": args.data_dir, "redis": args.redis})
    except ConfigError as exc:
        print(f"plume: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    access = args.access_log or settings.log_level.upper() == "DEBUG"
    if args.access_log:  # asked for by name: on whatever log_level says of the other loggers
        access_logger().setLevel(logging.INFO)
    from ..web import APP_KEY, create_web_app

    try:
        sockets = listen(settings.host, settings.port)
    except OSError as exc:  # socket.gaierror too
        print(f"plume: cannot start: {bind_failure(exc, settings.host, settings.port)}", file=sys.stderr)
        return EXIT_START
    try:
        import uvloop  # faster event loop when installed (it is a dependency on Linux)

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        web_app = loop.run_until_complete(create_web_app(settings))
    except ConfigError as exc:
        print(f"plume: cannot start: {exc}", file=sys.stderr)
        close(sockets)
        loop.close()
        return EXIT_CONFIG
    except Exception as exc:
        close(sockets)
        failure = open_failure(exc, settings.database_url)
        if failure is None:
            raise
        print(f"plume: cannot start: {failure}", file=sys.stderr)
        loop.close()
        return EXIT_START
    # Everything made so far (modules, services, schemas, plugins) lives as long as the process:
    # frozen, the cyclic collector stops walking it on every full collection (~18 ms each, several
    # a second under write load; 10-15% of write throughput).
    gc.collect()
    gc.freeze()
    auth = "on" if web_app[APP_KEY].auth_enabled else "off"
    banner = (f"Plume listening on http://{settings.host}:{settings.port} "
              f"(database {database_label(settings.database_url)}, authentication {auth})")
    _run(loop, web_app, sockets, banner, access)
    return 0


def _run(loop: asyncio.AbstractEventLoop, web_app: web.Application, sockets: list[socket.socket], banner: str,
         access: bool) -> None:
    """Serve on ``sockets`` (bound and listening) until SIGINT/SIGTERM (what ``web.run_app`` does,
    with Plume's runner): stop accepting, let in-flight requests finish (10 s at most), then run
    on_cleanup, which tears the app down and closes the database after queued writes. ``banner``
    is printed once the app is served."""
    from ..runner import HANDLER_ARGS, PlumeRunner

    async def serve() -> None:
        runner = PlumeRunner(web_app, handle_signals=True, access_log=access_logger() if access else None,
                             access_log_class=AccessLog, shutdown_timeout=10,
                             keepalive_timeout=75.0, **HANDLER_ARGS)  # run_app's keep-alive
        await runner.setup()
        try:
            for sock in sockets:
                await web.SockSite(runner, sock).start()
            print(banner, flush=True)
            while True:
                await asyncio.sleep(3600)
        finally:
            await runner.cleanup()
            close(sockets)  # the sites closed theirs; this is for a start that failed half-way

    main_task = loop.create_task(serve())
    try:
        loop.run_until_complete(main_task)
    except (GracefulExit, KeyboardInterrupt):  # the runner's signal handlers raise GracefulExit
        pass
    finally:
        if not main_task.done():
            main_task.cancel()  # runs serve()'s finally: the graceful cleanup
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main_task)
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
