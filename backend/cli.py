"""``plume`` command line: ``plume serve``, ``plume users create`` and ``plume sync`` (Python client)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys

from aiohttp import web
from aiohttp.web_runner import GracefulExit

from .config import ConfigError, load_settings


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config, {"host": args.host, "port": args.port, "database": args.database,
                                               "data_dir": args.data_dir, "redis": args.redis})
    except ConfigError as exc:
        print(f"plume: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from .web import create_web_app

    try:
        import uvloop  # faster event loop when installed (it is a dependency on Linux)

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        web_app = loop.run_until_complete(create_web_app(settings))
    except (ConfigError, ValueError) as exc:
        print(f"plume: cannot start: {exc}", file=sys.stderr)
        return 2
    # Everything made so far (modules, services, schemas, plugins) lives as long as the process:
    # frozen, the cyclic collector stops walking it on every full collection (~18 ms each, several
    # a second under write load; 10-15% of write throughput).
    gc.collect()
    gc.freeze()
    print(f"Plume listening on http://{settings.host}:{settings.port} (database {settings.database_url})",
          flush=True)
    _run(loop, web_app, settings.host, settings.port)
    return 0


def _run(loop: asyncio.AbstractEventLoop, web_app: web.Application, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM (what ``web.run_app`` does, with Plume's runner): stop accepting,
    let in-flight requests finish (10 s at most), then run on_cleanup, which tears the app down and
    closes the database after queued writes."""
    from .runner import HANDLER_ARGS, PlumeRunner

    async def serve() -> None:
        runner = PlumeRunner(web_app, handle_signals=True, access_log=None, shutdown_timeout=10,
                             keepalive_timeout=75.0, **HANDLER_ARGS)  # run_app's keep-alive
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            while True:
                await asyncio.sleep(3600)
        finally:
            await runner.cleanup()

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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``plume`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sync"]:
        from python_client.cli import sync_main

        return sync_main(argv[1:])
    parser = argparse.ArgumentParser(prog="plume", description="Plume realtime backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the server")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 3030)")
    serve.add_argument("--database", help="sqlite:///path (default) or mongodb://host/db")
    serve.add_argument("--data-dir", help="data directory (default ./data)")
    serve.add_argument("--config", help="TOML configuration file")
    serve.add_argument("--redis", help="redis:// URL: fan events out across processes")
    sub.add_parser("sync", help="send training runs kept on disk to a backend, idempotently (plume sync --help)")
    from .auth.cli import add_arguments, users_main

    add_arguments(sub.add_parser("users", help="manage users (authentication on)"))
    args = parser.parse_args(argv)
    return users_main(args) if args.command == "users" else _serve(args)


if __name__ == "__main__":
    sys.exit(main())
