"""The Writer without TensorFlow (logs and assets): connected, offline then synced, backend down, backend killed.

The Keras versions of these, with checkpoints, are in ``tests/keras_callback``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from python_client import DataStore, Remote, Uploader, Writer
from tests.support.server import PlumeProcess, free_port

from .runs import comparable, on_disk, without_server_fields

PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


def train(writer: Writer, asset: Path, between: Any = None) -> None:
    """The same small 'training' each time: 3 epochs, a metric that appears late, an asset."""
    writer.create_run(run_params={"lr": 0.01, "layers": (8, 1)})
    writer.train_begin(3)
    writer.save_epoch(1, {"loss": 0.9})
    if between:
        between()
    writer.save_epoch(2, {"loss": 0.5, "val_loss": 0.6}, assets=[asset])
    writer.save_epoch(3, {"loss": 0.25})
    writer.train_end({"loss": 0.25})


@pytest.fixture
def asset(tmp_path: Path) -> Path:
    path = tmp_path / "curve.png"
    path.write_bytes(PNG)
    return path


def server_run(url: str, run_id: str) -> dict[str, Any]:
    with DataStore(url) as store:
        return store.service("runs").get(run_id)  # type: ignore[no-any-return]


def test_a_connected_run(plume: PlumeProcess, tmp_path: Path, asset: Path) -> None:
    writer = Writer("w", plume.url, base_log_dir=tmp_path / "logs")
    statuses: list[str] = []
    succeeded = threading.Event()

    def patched(run: dict[str, Any]) -> None:
        statuses.append(run["status"])
        if run["status"] == "success":
            succeeded.set()

    with DataStore(plume.url) as listener:
        listener.service("runs").on("patched", patched)
        train(writer, asset)
        assert writer.wait_for_uploads(30)
        writer.close()
        disk = on_disk(writer.log_folder)  # type: ignore[arg-type]
        assert succeeded.wait(30)  # events travel on their own connection: wait for the last one
    assert disk["name"].startswith("w-") and disk["status"] == "success" and disk["epochs"] == 3
    assert disk["logs"] == {"loss": [0.9, 0.5, 0.25], "val_loss": [None, 0.6, None]}
    assert disk["params"] == {"lr": 0.01, "layers": [8, 1]}
    assert disk["assets"][0]["url"] and disk["assets"][0]["epoch"] == 2
    assert without_server_fields(server_run(plume.url, disk["_id"])) == disk  # the backend holds the disk copy
    assert statuses[-1] == "success"


def test_offline_then_synced_equals_connected(plume: PlumeProcess, tmp_path: Path, asset: Path) -> None:
    reference = Writer("same", plume.url, base_log_dir=tmp_path / "connected")
    train(reference, asset)
    assert reference.wait_for_uploads(30)
    reference.close()

    offline = Writer("same", backend_root=None, base_log_dir=tmp_path / "offline")
    train(offline, asset)
    disk = on_disk(offline.log_folder)  # type: ignore[arg-type]
    assert disk["name"] is None and disk["assets"][0]["url"] is None  # unknown until the backend is reached

    remote = Remote(plume.url)
    report = Uploader(remote, progress=False).upload(offline.log_folder)  # type: ignore[arg-type]
    assert report.created_run and report.assets == 1
    synced = on_disk(offline.log_folder)  # type: ignore[arg-type]
    stored = server_run(plume.url, synced["_id"])
    assert without_server_fields(stored) == synced
    connected = server_run(plume.url, on_disk(reference.log_folder)["_id"])  # type: ignore[arg-type]
    expected = {**comparable(connected), "name": synced["name"]}  # the next number of the same basename
    assert comparable(stored) == expected

    again = Uploader(remote, progress=False).upload(offline.log_folder)  # type: ignore[arg-type]
    assert not again.changed
    assert server_run(plume.url, synced["_id"])["updatedAt"] == stored["updatedAt"]
    remote.close()


def test_backend_down_from_the_start_then_back(tmp_path: Path, asset: Path) -> None:
    port = free_port()
    writer = Writer("down", f"http://127.0.0.1:{port}", base_log_dir=tmp_path / "logs")
    train(writer, asset)  # nothing raises, nothing waits
    assert writer.wait_for_uploads(None) is False  # returns at once: the backend is unreachable
    assert on_disk(writer.log_folder)["status"] == "success"  # type: ignore[arg-type]
    with PlumeProcess(tmp_path / "server", port=port) as srv:
        # Still alive, the sender catches up by itself once the backend answers.
        sender, state = writer.sender, writer.state
        assert sender is not None and state is not None
        for _ in range(300):
            if sender.synced_version >= state.version:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the sender did not catch up with the backend")
        disk = on_disk(writer.log_folder)  # type: ignore[arg-type]
        assert disk["name"] == "down-1"
        assert without_server_fields(server_run(srv.url, disk["_id"])) == disk
    writer.close()


def test_backend_killed_mid_run(tmp_path: Path, asset: Path) -> None:
    srv = PlumeProcess(tmp_path / "server").start()
    try:
        writer = Writer("killed", srv.url, base_log_dir=tmp_path / "logs")

        def kill() -> None:
            assert writer.wait_for_uploads(30)
            srv.kill()

        train(writer, asset, between=kill)
        assert writer.wait_for_uploads(5) is False
        writer.close()
        srv.start()
        remote = Remote(srv.url)
        report = Uploader(remote, progress=False).upload(writer.log_folder)  # type: ignore[arg-type]
        assert not report.created_run and report.patched_run and report.assets == 1
        disk = on_disk(writer.log_folder)  # type: ignore[arg-type]
        assert without_server_fields(server_run(srv.url, disk["_id"])) == disk
        assert not Uploader(remote, progress=False).upload(writer.log_folder).changed  # type: ignore[arg-type]
        remote.close()
    finally:
        srv.stop()
