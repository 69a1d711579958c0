"""The ``plume`` command.

Server side (on the server's machine and database): ``plume serve`` (:mod:`.serve`) and ``plume
users create|list|set-role|remove`` (:mod:`backend.auth.cli`). Client side, over HTTP with the
project's Python client: ``plume sync``, ``plume runs`` and ``plume models``
(:mod:`python_client.cli`, which installs and runs without the server's code).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``plume`` (client-side commands are listed, and parsed by :mod:`python_client.cli`)."""
    from python_client.cli import COMMANDS

    from ..auth.cli import add_arguments as add_user_arguments
    from .serve import add_arguments as add_serve_arguments

    parser = argparse.ArgumentParser(prog="plume", description="Plume: a realtime backend for machine-learning teams")
    parser.add_argument("--version", action="version", version=f"plume {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    add_serve_arguments(sub.add_parser("serve", help="start the server"))
    add_user_arguments(sub.add_parser("users", help="manage users on the server's database (authentication on)"))
    for name, text in COMMANDS.items():  # parsed by python_client.cli: listed here for --help
        sub.add_parser(name, help=f"{text} (plume {name} --help)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``plume`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from python_client.cli import COMMANDS

    if argv[:1] and argv[0] in COMMANDS:
        from python_client.cli import main as client_main

        return client_main(argv)
    args = build_parser().parse_args(argv)
    if args.command == "users":
        from ..auth.cli import users_main

        return users_main(args)
    from .serve import serve_main

    return serve_main(args)
