"""``plume users create|list|set-role|remove``: manage users straight on the server's database.

    plume users create --email ada@example.org --role admin [--config plume.toml]
    plume users list [--json]
    plume users set-role --email ann@example.org --role editor
    plume users remove --email ann@example.org

They run on the server's machine, with the server's settings (``--config``, ``--database``,
``--data-dir`` and the ``PLUME_*`` variables), and work while a server runs on the same database.
Each names the database it opens on stderr (``database: sqlite:////srv/plume/data/plume.sqlite3``),
so that a command run from the wrong folder shows it at once. ``create`` takes the password from
``--password``, else ``PLUME_PASSWORD``, else a prompt (so that it need not show in the process
list or the shell history). Exit status: 0 done, 1 refused (no such user, an unknown role...),
2 a bad setting or authentication off.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from python_client.cli.table import table, when

from ..app import ServiceHandle
from ..config import ConfigError, Settings, load_settings
from ..errors import FeathersError, NotFound
from ..hooks import Params
from ..logs import database_label
from .users import normalize_email

PAGE = 1000  # users read per query by ``list``
Action = Callable[[ServiceHandle], Awaitable[Any]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``plume users``."""
    settings = argparse.ArgumentParser(add_help=False)
    for flag, text in (("--config", "TOML configuration file"), ("--database", "database URL"),
                       ("--data-dir", "data directory")):
        settings.add_argument(flag, help=text)
    sub = parser.add_subparsers(dest="action", required=True, metavar="action")
    create = sub.add_parser("create", parents=[settings], help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: $PLUME_PASSWORD, else a prompt")
    create.add_argument("--role", help="default: [authentication] default_role")
    create.add_argument("--name")
    listing = sub.add_parser("list", parents=[settings], help="every user: email, role, name, id")
    listing.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of a table")
    role = sub.add_parser("set-role", parents=[settings], help="change a user's role")
    role.add_argument("--email", required=True)
    role.add_argument("--role", required=True)
    remove = sub.add_parser("remove", parents=[settings], help="remove a user (and its API keys)")
    remove.add_argument("--email", required=True)


def users_main(args: argparse.Namespace) -> int:
    """Run ``plume users <action>``; returns the exit status."""
    try:
        settings = load_settings(args.config, {"database": args.database, "data_dir": args.data_dir})
    except ConfigError as exc:
        print(f"plume: configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"database: {database_label(settings.database_url)}", file=sys.stderr)
    action = _action(args)  # after the line above: a password prompt comes once the database is named
    try:
        result = asyncio.run(_on_users(settings, action))
    except ConfigError as exc:
        print(f"plume: {exc}", file=sys.stderr)
        return 2
    except FeathersError as exc:
        print(f"plume: {exc.name}: {exc.message} {orjson.dumps(exc.errors).decode() if exc.errors else ''}".rstrip(),
              file=sys.stderr)
        return 1
    if args.action == "list" and not args.json:
        print(_table(result))
    elif args.action == "list":
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        print(orjson.dumps(result).decode())
    return 0


def _action(args: argparse.Namespace) -> Action:
    """What ``args`` asks of the users service."""
    if args.action == "create":
        password = args.password or os.environ.get("PLUME_PASSWORD") or getpass.getpass("Password: ")
        data = {"email": args.email, "password": password}
        data.update({k: v for k, v in (("role", args.role), ("name", args.name)) if v})
        return lambda users: users.create(data)
    if args.action == "list":
        return _all_users
    if args.action == "set-role":
        return lambda users: _by_email(users, args.email, lambda id: users.patch(id, {"role": args.role}))
    return lambda users: _by_email(users, args.email, users.remove)


async def _on_users(settings: Settings, action: Action) -> Any:
    """Run ``action`` on the ``users`` service of an app on ``settings``' database (the server's own
    calls: no permission rule applies)."""
    from ..server import create_app
    from . import plugin

    app = await create_app(settings, plugins=[plugin])
    try:
        if not app.auth_enabled:
            raise ConfigError("authentication is not enabled ([authentication] enabled = true)")
        return await action(app.service("users"))
    finally:
        await app.teardown()


async def _by_email(users: ServiceHandle, email: str, change: Callable[[Any], Awaitable[Any]]) -> Any:
    """``change(id)`` of the user with ``email`` (NotFound naming it when there is none)."""
    address = normalize_email(email)
    found = await users.find(Params(query={"email": address, "$limit": 1}))
    data = found["data"] if isinstance(found, dict) else found
    if not data:
        raise NotFound(f"No user with email '{address}'")
    return await change(data[0][users.store.id_field])


async def _all_users(users: ServiceHandle) -> list[dict[str, Any]]:
    """Every user, by email."""
    out: list[dict[str, Any]] = []
    while True:
        page = await users.find(Params(query={"$sort": {"email": 1}, "$skip": len(out), "$limit": PAGE}))
        data = page["data"] if isinstance(page, dict) else page
        out += data
        if len(data) < PAGE:
            return out


def _table(users: list[dict[str, Any]]) -> str:
    """Users as aligned columns (email, role, name, id, created)."""
    if not users:
        return "(no users)"
    rows = [[u.get("email"), u.get("role"), u.get("name"), u.get("_id"), when(u.get("createdAt"))] for u in users]
    return table(["EMAIL", "ROLE", "NAME", "ID", "CREATED (UTC)"], rows)
