"""``plume serve`` as users meet it: the start-up line, ``--version``, the access log, and the one-line
errors (exit status 1, no traceback, no "listening" line) for a busy port or a database it cannot open."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest
import requests

import backend
from tests.auth.support import AUTH_CONFIG
from tests.support.cli import plume
from tests.support.server import PlumeProcess, free_port

LOG_LINE = re.compile(r"INFO plume\.access: (\S+) (\S+) (\d{3}) (\d+)ms from (\S+)$")


def refused(proc: subprocess.CompletedProcess[str], message: str) -> None:
    """``proc`` (a ``plume serve`` that could not start) printed exactly ``message`` and nothing else."""
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"plume: cannot start: {message}\n"
    assert proc.stdout == ""  # no "Plume listening on ..."


def test_version() -> None:
    proc = plume("--version")
    assert proc.returncode == 0 and proc.stdout == f"plume {backend.__version__}\n"
    assert backend.__version__ == version("plume")  # the package's metadata says the same


def test_the_start_up_line_names_the_database_and_authentication(tmp_path: Path) -> None:
    with PlumeProcess(tmp_path / "a") as srv:
        db = (tmp_path / "a" / "plume.sqlite3").resolve().as_posix()
        assert f"Plume listening on http://127.0.0.1:{srv.port} (database sqlite:///{db}, authentication off)\n" \
            in srv.log()
    with PlumeProcess(tmp_path / "b", config=AUTH_CONFIG) as srv:
        assert "authentication on)" in srv.log()
    url = "mongomock://ann:hunter2-secret@localhost/plume"
    with PlumeProcess(tmp_path / "c", args=["--database", url]) as srv:
        assert "(database mongomock://ann:***@localhost/plume, authentication off)" in srv.log()
        assert "hunter2" not in srv.log()


def test_a_busy_port_is_one_line(plume_process: PlumeProcess, tmp_path: Path) -> None:
    proc = plume("serve", "--port", plume_process.port, "--data-dir", tmp_path)
    refused(proc, f"port {plume_process.port} on 127.0.0.1 is in use (is another Plume running? use --port)")
    assert requests.get(f"{plume_process.url}/info", timeout=5).status_code == 200  # the first one is fine


def test_a_second_server_on_a_busy_port_leaves_the_first_ones_data_alone(plume_process: PlumeProcess) -> None:
    # A folder a start would sweep (untouched for two days) put into the running server's data
    # after its own start: a second start on the same data and port must fail before its setup
    # (scratch sweeps, conversions resumed, tables renamed...) reaches it.
    stale = plume_process.data_dir / "tmp" / "uploads" / "elsewhere-1"
    stale.mkdir(parents=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))
    proc = plume("serve", "--port", plume_process.port, "--data-dir", plume_process.data_dir)
    refused(proc, f"port {plume_process.port} on 127.0.0.1 is in use (is another Plume running? use --port)")
    assert stale.is_dir()
    assert requests.get(f"{plume_process.url}/info", timeout=5).status_code == 200


def test_an_address_of_another_machine_is_one_line(tmp_path: Path) -> None:
    proc = plume("serve", "--host", "192.0.2.1", "--port", free_port(), "--data-dir", tmp_path)
    assert proc.returncode == 1 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("plume: cannot start: cannot listen on 192.0.2.1:")
    assert proc.stderr.endswith("(use --host with an address of this machine)\n")


def test_bad_database_urls_are_one_line(tmp_path: Path) -> None:
    port = str(free_port())
    refused(plume("serve", "--port", port, "--database", "postgres://ann:pw@db/plume"),
            "unsupported database URL 'postgres://ann:***@db/plume' (use sqlite:///path or mongodb://host/db)")
    refused(plume("serve", "--port", port, "--database", "mongodb://"),
            "invalid MongoDB URL: Must provide at least one hostname or IP")
    (tmp_path / "notes.txt").write_text("not a database\n")
    refused(plume("serve", "--port", port, "--database", f"sqlite:///{tmp_path / 'notes.txt'}"),
            f"cannot open the database sqlite:///{tmp_path / 'notes.txt'}: file is not a database")
    inside_a_file = tmp_path / "notes.txt" / "data" / "plume.sqlite3"
    refused(plume("serve", "--port", port, "--database", f"sqlite:///{inside_a_file}"),
            f"cannot open the database sqlite:///{inside_a_file}: [Errno 20] Not a directory: "
            f"'{inside_a_file.parent}'")


def test_an_unreachable_mongodb_is_one_line() -> None:
    down = free_port()
    url = f"mongodb://ann:hunter2@127.0.0.1:{down}/plume?serverSelectionTimeoutMS=300"
    proc = plume("serve", "--port", free_port(), "--database", url)
    refused(proc, f"the database mongodb://ann:***@127.0.0.1:{down}/plume?serverSelectionTimeoutMS=300 is "
                  f"unreachable (127.0.0.1:{down}: [Errno 111] Connection refused)")


def access_lines(srv: PlumeProcess, until: Callable[[list[tuple[str, ...]]], bool] | None = None
                 ) -> list[tuple[str, ...]]:
    """The access-log lines of ``srv`` (method, target, status, ms, address), once ``until`` holds
    for them (each line follows its answer closely); now without ``until``."""
    deadline = time.monotonic() + 10
    while True:
        lines = [m.groups() for m in map(LOG_LINE.search, srv.log().splitlines()) if m]
        if until is None or until(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def test_the_access_log_has_one_line_per_request_and_no_credentials(tmp_path: Path) -> None:
    with PlumeProcess(tmp_path, args=["--access-log"]) as srv:
        token = "eyJhbGciOiJIUzI1NiJ9.secret-token-value"
        http = requests.Session()
        assert http.post(f"{srv.url}/people", json={"name": "Ann"}, headers={"Authorization": f"Bearer {token}"},
                         timeout=5).status_code == 201
        assert http.get(f"{srv.url}/people?age[$gt]=30&accessToken=leaked-token&api_key=leaked-key",
                        timeout=5).status_code == 200
        assert http.get(f"{srv.url}/people/0123456789abcdef01234567", timeout=5).status_code == 404
        # (GET /info lines: PlumeProcess waits for the server with them.)
        lines = [line for line in access_lines(srv, lambda got: got[-1][2] == "404") if line[1] != "/info"]
        log = srv.log()
    assert [(m, p, s, a) for m, p, s, _, a in lines] == [
        ("POST", "/people", "201", "127.0.0.1"),
        ("GET", "/people?age%5B$gt%5D=30&accessToken=***&api_key=***", "200", "127.0.0.1"),  # as sent
        ("GET", "/people/0123456789abcdef01234567", "404", "127.0.0.1"),
    ]
    assert "secret-token-value" not in log and "leaked" not in log and "Bearer" not in log


@pytest.mark.parametrize(("args", "log_level", "logged"), [
    ([], "INFO", False),
    ([], "DEBUG", True),
    (["--access-log"], "WARNING", True),  # asked for by name: whatever the level of the other loggers
])
def test_the_access_log_is_on_when_asked_for(tmp_path: Path, args: list[str], log_level: str, logged: bool) -> None:
    env = {"PLUME_LOG_LEVEL": log_level}
    with PlumeProcess(tmp_path, args=args, env=env, config='[services]\ndynamic = "warn"\n') as srv, \
            requests.Session() as http:
        assert http.get(f"{srv.url}/info?probe=1", timeout=5).status_code == 200
        # The next request on the same connection is read once the first one's access line is
        # written: the warning it causes comes after that line in the log, if there is one.
        assert http.post(f"{srv.url}/marker", json={}, timeout=5).status_code == 201
        deadline = time.monotonic() + 10
        while "service 'marker' created on first use" not in srv.log():
            assert time.monotonic() < deadline, srv.log()
            time.sleep(0.02)
        lines = access_lines(srv)
    probe = [line for line in lines if line[:3] == ("GET", "/info?probe=1", "200")]
    assert len(probe) == (1 if logged else 0), lines
