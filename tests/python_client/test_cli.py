"""``plume sync``: the real command line, on runs written offline."""

from __future__ import annotations

import json
from pathlib import Path

from python_client import DataStore, Writer
from python_client.ids import object_id
from tests.support.cli import plume
from tests.support.server import PlumeProcess, free_port


def offline_run(base: Path, name: str) -> Path:
    writer = Writer(name, backend_root=None, base_log_dir=base)
    writer.create_run(run_params={"n": 1})
    writer.train_begin(1)
    writer.save_epoch(1, {"loss": 1.0})
    writer.train_end()
    assert writer.log_folder is not None
    return writer.log_folder


def test_sync_a_folder_of_runs_twice(plume_process: PlumeProcess, tmp_path: Path) -> None:
    base = tmp_path / "marcelle-logs"
    offline_run(base, "a")
    offline_run(base, "b")
    first = plume("sync", base, "--url", plume_process.url, "-q")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["a-1: created the run", "b-1: created the run"]
    second = plume("sync", base, "--url", plume_process.url, "-q")
    assert second.returncode == 0 and second.stdout.splitlines() == ["a-1: up to date", "b-1: up to date"]
    with DataStore(plume_process.url) as store:
        assert store.service("runs").find({"query": {"$limit": 0}})["total"] == 2


def test_sync_failures(tmp_path: Path) -> None:
    missing = plume("sync", tmp_path)
    assert missing.returncode == 2 and "no run directory" in missing.stderr
    run = offline_run(tmp_path / "logs", "c")
    down = plume("sync", run, "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2", "-q")
    assert down.returncode == 1 and "Could not reach the backend" in down.stderr
    usage = plume("sync", "--help")
    assert usage.returncode == 0 and "idempotently" in usage.stdout


def test_one_bad_run_does_not_stop_the_others(plume_process: PlumeProcess, tmp_path: Path) -> None:
    base = tmp_path / "marcelle-logs"
    (base / "0-truncated").mkdir(parents=True)
    (base / "0-truncated" / "run_data.json").write_text('{"basename": "x", "st')  # a crash mid-write
    (base / "1-no-start").mkdir()
    (base / "1-no-start" / "run_data.json").write_text(json.dumps({"basename": "y", "status": "success"}))
    (base / "2-odd").mkdir()
    (base / "2-odd" / "run_data.json").write_text(json.dumps({"basename": "z", "start": "s", "checkpoints": ["?"]}))
    good = offline_run(base, "good")
    proc = plume("sync", base, "--url", plume_process.url, "-q")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == ["good-1: created the run"]  # synced all the same
    errors = proc.stderr.splitlines()
    assert any("0-truncated" in line and "is not valid JSON" in line for line in errors), proc.stderr
    assert any("1-no-start" in line and "neither an _id nor a start date" in line for line in errors), proc.stderr
    assert any("2-odd" in line and "checkpoints is not a list of objects" in line for line in errors), proc.stderr
    assert errors[-1] == "plume sync: 3 of 4 runs not synced" and "Traceback" not in proc.stderr
    assert json.loads((good / "run_data.json").read_text())["name"] == "good-1"


def test_a_missing_checkpoint_file_is_reported_and_the_rest_synced(plume_process: PlumeProcess, tmp_path: Path) -> None:
    run = offline_run(tmp_path / "logs", "lost")
    data = json.loads((run / "run_data.json").read_text())
    data["checkpoints"].append({"id": object_id(), "name": None, "service": "tfjs-models",
                                "metadata": {"epoch": 1, "local_path": str(run / "gone.h5"), "local_format": "h5"}})
    (run / "run_data.json").write_text(json.dumps(data))
    proc = plume("sync", run, "--url", plume_process.url, "-q")
    assert proc.returncode == 1 and "not uploaded: FileNotFoundError" in proc.stderr
    assert proc.stdout.strip() == "lost-1: created the run"
    with DataStore(plume_process.url) as store:
        (stored,) = store.service("runs").find({"query": {"basename": "lost"}})["data"]
        assert stored["checkpoints"][0]["name"] == "lost-1@1"  # recorded, so that a later sync can retry
        assert store.service("tfjs-models").find({"query": {"$limit": 0}})["total"] == 0


def test_overwrite_replaces_the_run(plume_process: PlumeProcess, tmp_path: Path) -> None:
    run = offline_run(tmp_path / "logs", "again")
    assert plume("sync", run, "--url", plume_process.url, "-q").returncode == 0
    with DataStore(plume_process.url) as store:
        (first,) = store.service("runs").find({"query": {"basename": "again"}})["data"]
        proc = plume("sync", run, "--url", plume_process.url, "-q", "--overwrite")
        assert proc.returncode == 0 and proc.stdout.strip() == "again-1: created the run"
        (second,) = store.service("runs").find({"query": {"basename": "again"}})["data"]
    assert second["_id"] == first["_id"] and second["createdAt"] != first["createdAt"]
