"""The client side of the ``plume`` command: commands that talk to a server over HTTP.

``plume sync`` (:mod:`.sync`), ``plume runs list|show|compare`` (:mod:`.runs`) and ``plume models
list|show|download`` (:mod:`.models`). They use the Python client only, so they run on a training
machine that has no server installed; ``backend.cli`` hands them their arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .sync import describe, run_directories, sync_main

__all__ = ["COMMANDS", "describe", "main", "run_directories", "sync_main"]

#: The client-side commands and their one-line help.
COMMANDS = {
    "sync": "send training runs kept on disk to a backend, idempotently",
    "runs": "list, show and compare the training runs on a server",
    "models": "list, show and download the models on a server",
}


def parser(command: str) -> argparse.ArgumentParser:
    """The argument parser of ``plume <command>`` (a client-side command)."""
    if command == "sync":
        from .sync import parser as sync_parser

        return sync_parser()
    module = _module(command)
    out = argparse.ArgumentParser(prog=f"plume {command}", description=COMMANDS[command])
    module.add_arguments(out)
    return out


def _module(command: str) -> Any:
    from . import models, runs

    return runs if command == "runs" else models


def main(argv: list[str]) -> int:
    """Run ``plume <command> ...`` for a client-side command (``argv[0]``); returns the exit status."""
    command, rest = argv[0], argv[1:]
    if command == "sync":
        return sync_main(rest)
    return int(_module(command).run(parser(command).parse_args(rest)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
