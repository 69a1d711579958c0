"""Every command, action and flag of ``plume`` is documented in README.md, and ``--help`` lists them."""

from __future__ import annotations

import argparse

import pytest

from backend.cli import build_parser
from python_client.cli import COMMANDS, parser
from tests.support.cli import plume
from tests.support.server import REPO

README = (REPO / "README.md").read_text()


def subcommands(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found[0].choices) if found else {}


def flags(p: argparse.ArgumentParser) -> set[str]:
    return {o for a in p._actions for o in a.option_strings if o.startswith("--") and o != "--help"}


def commands() -> dict[str, argparse.ArgumentParser]:
    """``"plume serve"``, ``"plume users list"``, ``"plume runs compare"``... and their parsers."""
    out: dict[str, argparse.ArgumentParser] = {}
    for name, sub in subcommands(build_parser()).items():
        sub = parser(name) if name in COMMANDS else sub
        actions = subcommands(sub)
        out.update({f"plume {name} {a}": p for a, p in actions.items()} if actions else {f"plume {name}": sub})
    return out


@pytest.mark.parametrize("command", sorted(commands()))
def test_each_command_and_flag_is_in_the_readme(command: str) -> None:
    assert command in README
    missing = sorted(f for f in flags(commands()[command]) if f not in README)
    assert not missing, f"{command}: {missing} not in README.md"


def test_help_lists_the_commands() -> None:
    top = plume("--help")
    assert top.returncode == 0 and all(name in top.stdout for name in ("serve", "users", *COMMANDS))
    for name in ("runs", "models", "users"):
        proc = plume(name, "--help")
        assert proc.returncode == 0 and proc.stdout.startswith(f"usage: plume {name}")
