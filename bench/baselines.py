"""Baseline servers for ``bench/bench_core.py --baseline``: the floors under Plume's get.

    python bench/baselines.py bare PORT                 # bare aiohttp: one catch-all, a constant body
    python bench/baselines.py bare-json PORT            # bare aiohttp that parses each JSON body first
    python bench/baselines.py bare-sio PORT             # stock python-socketio on aiohttp: every event
                                                        # acked with a constant record
    python bench/baselines.py const PORT DATA_DIR CFG   # plume serve, plus /const: a service whose
                                                        # get returns a constant record (no storage)

``bare`` is what aiohttp alone costs per request on this machine, ``bare-sio`` what python-socketio
(the library Plume is built on) alone costs per socket.io call, with its default settings;
``const`` adds Plume's transport, hooks and service call without storage; Plume's own
``GET /items/<id>`` adds the SQLite read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECORD = {"name": "item 1", "group": "g1", "n": 1, "tags": ["a", "b"], "_id": "6650f0e2a1b2c3d4e5f60718",
          "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}


class Constant:
    """A service whose get answers the same record for every id."""

    async def get(self, id: Any, params: Any) -> dict[str, Any]:
        return RECORD


def bare(port: int) -> None:
    import orjson
    from aiohttp import web

    body = orjson.dumps(RECORD)

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": "application/json"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    _uvloop()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def bare_json(port: int) -> None:
    """Bare aiohttp reading and parsing each JSON body (orjson), then answering a constant: what
    any server of this stack pays per request before it does anything with the data."""
    import orjson
    from aiohttp import web

    body = orjson.dumps(RECORD)

    async def handler(request: web.Request) -> web.Response:
        orjson.loads(await request.read())
        return web.Response(body=body, headers={"Content-Type": "application/json"})

    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handler)
    _uvloop()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def bare_sio(port: int) -> None:
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)

    async def call(event: str, sid: str, *args: Any) -> tuple[None, dict[str, Any]]:
        return None, RECORD

    sio.on("*", call)
    app = web.Application()
    sio.attach(app)
    _uvloop()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _uvloop() -> None:
    """The event loop ``plume serve`` runs on, where it is installed."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass


def const(port: int, data_dir: str, config: str) -> int:
    from backend import cli, server

    create_app = server.create_app

    async def with_constant(settings: Any, **kwargs: Any) -> Any:
        app = await create_app(settings, **kwargs)
        await app.use("const", Constant())
        return app

    server.create_app = with_constant  # type: ignore[assignment]
    import backend.web

    backend.web.create_app = with_constant  # type: ignore[assignment]
    return cli.main(["serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir, "--config", config])


if __name__ == "__main__":
    kind, rest = sys.argv[1], sys.argv[2:]
    if kind == "bare":
        bare(int(rest[0]))
    elif kind == "bare-json":
        bare_json(int(rest[0]))
    elif kind == "bare-sio":
        bare_sio(int(rest[0]))
    elif kind == "const":
        sys.exit(const(int(rest[0]), rest[1], rest[2]))
    else:
        sys.exit(f"unknown baseline {kind!r} (bare, bare-json, bare-sio or const)")
