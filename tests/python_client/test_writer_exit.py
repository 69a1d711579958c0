"""A script that ends right after ``train_end()``: the Writer's exit flush sends the rest, within a bound.

The sender is a daemon thread, killed at interpreter exit; without the flush such a script left
nothing on the backend, and said nothing. Where a test shows that something does *not* hold the
exit, the thing is made to last an hour: the script's ending at all (under the subprocess's
120 s guard) is the proof, with no bound on the clock.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from python_client import DataStore
from tests.support.server import REPO, PlumeProcess, free_port

from .faults import FaultProxy
from .runs import on_disk, without_server_fields

SCRIPT = [sys.executable, "-m", "tests.python_client.exit_script"]
NOT_SENT = "is not on the backend yet: run `plume sync {}`"


@pytest.fixture
def proxy(plume: PlumeProcess) -> Iterator[FaultProxy]:
    with FaultProxy(plume.url).threaded() as p:
        yield p


HOUR = "3600"


def run_script(url: str, logs: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    proc = subprocess.run([*SCRIPT, url, str(logs), *extra], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, Path(proc.stdout.strip().splitlines()[-1])


def test_the_run_reaches_the_backend_before_the_script_ends(plume: PlumeProcess, tmp_path: Path) -> None:
    proc, run_dir = run_script(plume.url, tmp_path / "logs")
    assert "not on the backend" not in proc.stderr
    disk = on_disk(run_dir)
    with DataStore(plume.url) as store:
        run = store.service("runs").get(disk["_id"])
    assert (run["status"], run["epoch"], run["logs"]) == ("success", 3, {"loss": [1.0, 0.5, 1 / 3]})
    assert without_server_fields(run) == disk


def test_a_backend_that_is_down_does_not_hold_the_exit(tmp_path: Path) -> None:
    # An hour of exit timeout: refused connections end the wait, else the script would not end.
    proc, run_dir = run_script(f"http://127.0.0.1:{free_port()}", tmp_path / "logs", "--exit-timeout", HOUR)
    assert NOT_SENT.format(run_dir) in proc.stderr
    assert on_disk(run_dir)["status"] == "success"


def test_the_exit_wait_is_bounded(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.then(*["hang"] * 50)  # a backend that takes requests and never answers
    # Bounded by the exit timeout, not by the hour of request timeout (else the script would not end).
    proc, run_dir = run_script(proxy.url, tmp_path / "logs", "--exit-timeout", "1", "--timeout", HOUR)
    assert NOT_SENT.format(run_dir) in proc.stderr
