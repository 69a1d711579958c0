"""Training with the backend away: down from the start, killed mid-training, failing at the end.

Training finishes either way; ``plume sync`` then leaves the backend with the run a connected run
makes (the module's reference), and a second sync changes nothing. A backend that only fails for a
moment at the end of training (503s) is waited out: the run needs no sync.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from python_client import DataStore
from tests.python_client.faults import FaultProxy, Status
from tests.python_client.runs import comparable, on_disk, without_server_fields
from tests.support.server import REPO, PlumeProcess, free_port

from .support import counts, fetch_files, train, train_args

pytestmark = pytest.mark.timeout(600)


def sync(url: str, run_dir: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "backend.cli", "sync", str(run_dir), "--url", url, "-q"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def stored_run(store: DataStore) -> dict[str, Any]:
    (run,) = list(store.service("runs").items())
    return run  # type: ignore[no-any-return]


def check_synced(store: DataStore, run_dir: Path, reference: dict[str, Any], tmp_path: Path) -> dict[str, int]:
    """The backend holds the disk copy, which is the connected reference's run (ids, dates and numbers aside)."""
    run = stored_run(store)
    assert without_server_fields(run) == on_disk(run_dir)
    assert comparable(run) == comparable(reference)
    for checkpoint in run["checkpoints"]:
        doc = fetch_files(store, "tfjs-models", checkpoint["id"], tmp_path / checkpoint["id"])
        assert (doc["name"], doc["run"], doc["metadata"]["epoch"]) == (checkpoint["name"], run["_id"],
                                                                       checkpoint["metadata"]["epoch"])
        assert [f[0] for f in doc["files"]] == ["model.json", "group1-shard1of1.bin"]
    return counts(store)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run made with the backend up all along."""
    tmp = tmp_path_factory.mktemp("connected")
    with PlumeProcess(tmp / "server") as srv:
        train(srv.url, tmp, "--format", "tfjs")
        with DataStore(srv.url) as store:
            run = stored_run(store)
            assert counts(store)["tfjs-models"] == 4
            return run


def test_backend_down_from_the_start(reference: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    result = train(f"http://127.0.0.1:{port}", tmp_path, "--format", "tfjs")  # finishes: nothing to talk to
    run_dir = Path(result["run_dir"])
    disk = on_disk(run_dir)
    assert disk["status"] == "success" and disk["name"] is None and len(disk["checkpoints"]) == 4
    with PlumeProcess(tmp_path / "server", port=port) as srv, DataStore(srv.url) as store:
        assert sync(srv.url, run_dir) == "kt-1: created the run, uploaded 4 checkpoint(s) and 0 asset(s)"
        before = check_synced(store, run_dir, reference, tmp_path)
        updated = stored_run(store)["updatedAt"]
        assert sync(srv.url, run_dir) == "kt-1: up to date"
        assert counts(store) == before and stored_run(store)["updatedAt"] == updated


def test_backend_killed_mid_training(reference: dict[str, Any], tmp_path: Path) -> None:
    srv = PlumeProcess(tmp_path / "server").start()
    try:
        proc = subprocess.Popen(train_args(srv.url, tmp_path, "--format", "tfjs", "--pause-after", "1"), cwd=REPO,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "PAUSED"  # epoch 1 is on the backend
        with DataStore(srv.url) as store:
            assert stored_run(store)["epoch"] == 1 and counts(store)["tfjs-models"] == 1
        srv.kill()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]  # training finished without its backend
        run_dir = next((tmp_path / "logs").iterdir())
        srv.start()
        with DataStore(srv.url) as store:
            assert stored_run(store)["epoch"] == 1  # what reached the backend before it died
            assert sync(srv.url, run_dir) == "kt-1: uploaded 3 checkpoint(s) and 0 asset(s), updated the run"
            before = check_synced(store, run_dir, reference, tmp_path)
            assert sync(srv.url, run_dir) == "kt-1: up to date"
            assert counts(store) == before
    finally:
        srv.stop()


def test_a_backend_failing_for_a_moment_at_the_end(reference: dict[str, Any], tmp_path: Path) -> None:
    busy = Status(503, '{"name":"Unavailable","message":"busy","code":503,"className":"unavailable"}',
                  {"Content-Type": "application/json"})
    with PlumeProcess(tmp_path / "server") as srv, FaultProxy(srv.url).threaded() as proxy:
        proc = subprocess.Popen(train_args(proxy.url, tmp_path, "--format", "tfjs", "--pause-after", "3"), cwd=REPO,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "PAUSED"  # the 3 epochs are on the backend
        proxy.then(*[busy] * 4)  # on_train_end: its first two passes fail
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        assert "not on the backend yet" not in err  # was: the callback gave up at the first 503
        assert [s.action for s in proxy.requests()].count(busy) == 4
        with DataStore(srv.url) as store:
            run = stored_run(store)
            assert run["status"] == "success" and len(run["checkpoints"]) == 4
            assert without_server_fields(run) == on_disk(next((tmp_path / "logs").iterdir()))
            assert comparable(run) == comparable(reference)
