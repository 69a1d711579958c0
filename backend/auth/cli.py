"""``plume users create``: add a user (the first admin, say) straight to the database.

    plume users create --email ada@example.org --role admin [--config plume.toml]

The password comes from ``--password``, else ``PLUME_PASSWORD``, else a prompt (so that it need not
show in the process list or the shell history). Works while a server runs on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import Any

import orjson

from ..config import ConfigError, load_settings
from ..errors import FeathersError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: $PLUME_PASSWORD, else a prompt")
    create.add_argument("--role", help="default: [authentication] default_role")
    create.add_argument("--name")
    for flag, text in (("--config", "TOML configuration file"), ("--database", "database URL"),
                       ("--data-dir", "data directory")):
        create.add_argument(flag, help=text)


async def _create(settings: Any, data: dict[str, Any]) -> dict[str, Any]:
    from ..server import create_app
    from . import plugin

    app = await create_app(settings, plugins=[plugin])
    try:
        if not app.auth_enabled:
            raise ConfigError("authentication is not enabled ([authentication] enabled = true)")
        return await app.service("users").create(data)
    finally:
        await app.teardown()


def users_main(args: argparse.Namespace) -> int:
    """Run ``plume users <action>``; returns the exit code."""
    try:
        settings = load_settings(args.config, {"database": args.database, "data_dir": args.data_dir})
    except ConfigError as exc:
        print(f"plume: configuration error: {exc}", file=sys.stderr)
        return 2
    password = args.password or os.environ.get("PLUME_PASSWORD") or getpass.getpass("Password: ")
    data = {"email": args.email, "password": password}
    data.update({k: v for k, v in (("role", args.role), ("name", args.name)) if v})
    try:
        user = asyncio.run(_create(settings, data))
    except ConfigError as exc:
        print(f"plume: {exc}", file=sys.stderr)
        return 2
    except FeathersError as exc:
        print(f"plume: {exc.name}: {exc.message} {orjson.dumps(exc.errors).decode() if exc.errors else ''}",
              file=sys.stderr)
        return 1
    print(orjson.dumps(user).decode())
    return 0
