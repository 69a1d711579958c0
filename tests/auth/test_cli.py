"""``plume users create|list|set-role|remove`` on the database of a running server, as a subprocess.

Each command names the database it opens on stderr; the server sees each change on the next call
of the user it concerns (REST calls read the user afresh).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from python_client import DataStore
from python_client.errors import NotAuthenticated
from tests.auth.support import AUTH_CONFIG, PASSWORD
from tests.support.cli import plume
from tests.support.server import PlumeProcess


@pytest.fixture
def auth_process(tmp_path: Path) -> Iterator[PlumeProcess]:
    with PlumeProcess(tmp_path / "server", config=AUTH_CONFIG) as srv:
        yield srv


def users(srv: PlumeProcess, *args: str, password: str | None = None) -> tuple[int, str, str]:
    """``plume users <args>`` on ``srv``'s settings and database: (status, stdout, stderr)."""
    assert srv.config_path is not None
    proc = plume("users", *args, "--config", srv.config_path, "--data-dir", srv.data_dir,
                 env={"PLUME_PASSWORD": password} if password else None)
    return proc.returncode, proc.stdout, proc.stderr


def database_line(srv: PlumeProcess) -> str:
    return f"database: sqlite:///{(srv.data_dir / 'plume.sqlite3').resolve().as_posix()}\n"


def test_create_list_set_role_remove_while_the_server_runs(auth_process: PlumeProcess) -> None:
    srv = auth_process
    status, out, err = users(srv, "create", "--email", "Admin@Example.org", "--role", "admin", password=PASSWORD)
    assert status == 0 and err == database_line(srv) and json.loads(out)["email"] == "admin@example.org"
    status, out, err = users(srv, "create", "--email", "ann@example.org", "--name", "Ann", password=PASSWORD)
    assert status == 0 and json.loads(out)["role"] == "editor"  # [authentication] default_role

    status, out, err = users(srv, "list")
    assert status == 0 and err == database_line(srv)
    header, *rows = out.splitlines()
    assert header.split() == ["EMAIL", "ROLE", "NAME", "ID", "CREATED", "(UTC)"]
    assert [row.split()[:3] for row in rows] == [["admin@example.org", "admin", "-"],
                                                 ["ann@example.org", "editor", "Ann"]]
    status, out, _ = users(srv, "list", "--json")
    listed = json.loads(out)
    assert status == 0 and [u["email"] for u in listed] == ["admin@example.org", "ann@example.org"]
    assert all("password" not in u for u in listed)

    with DataStore(srv.url) as ann:
        ann.login("ann@example.org", PASSWORD)
        assert [u["email"] for u in ann.service("users").find()["data"]] == ["ann@example.org"]  # an editor sees itself
        status, out, err = users(srv, "set-role", "--email", "ANN@example.org", "--role", "admin")
        assert status == 0 and err == database_line(srv) and json.loads(out)["role"] == "admin"
        assert len(ann.service("users").find()["data"]) == 2  # the same token, now an admin's
        status, out, err = users(srv, "remove", "--email", "ann@example.org")
        assert status == 0 and err == database_line(srv) and json.loads(out)["email"] == "ann@example.org"
        with pytest.raises(NotAuthenticated, match="User not found"):
            ann.service("users").find()
    status, out, _ = users(srv, "list", "--json")
    assert [u["email"] for u in json.loads(out)] == ["admin@example.org"]


def test_refusals_are_one_line(auth_process: PlumeProcess, tmp_path: Path) -> None:
    srv = auth_process
    status, out, err = users(srv, "remove", "--email", "nobody@example.org")
    assert (status, out) == (1, "") and err == database_line(srv) + "plume: NotFound: No user with email " \
        "'nobody@example.org'\n"
    users(srv, "create", "--email", "bob@example.org", password=PASSWORD)
    status, _, err = users(srv, "set-role", "--email", "bob@example.org", "--role", "boss")
    assert status == 1 and err.endswith("plume: BadRequest: Unknown role 'boss'; roles are ['admin', 'editor', "
                                        "'viewer'] {\"role\":\"unknown role\"}\n")
    status, _, err = users(srv, "set-role", "--email", "not-an-email", "--role", "admin")
    assert status == 1 and err.endswith("plume: BadRequest: Invalid email address {\"email\":\"invalid email\"}\n")
    off = plume("users", "list", "--data-dir", tmp_path / "off")
    assert off.returncode == 2 and off.stdout == ""
    assert off.stderr == f"database: sqlite:///{(tmp_path / 'off' / 'plume.sqlite3').as_posix()}\n" \
        "plume: authentication is not enabled ([authentication] enabled = true)\n"
