"""The em API against a real server: auto_upload, em.upload after an outage, a killed server, and
loading runs back from the server."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from python_client import connect, em
from python_client.em import local
from python_client.em.placing import UploadState
from python_client.em.sync import RunUpload
from tests.python_client.faults import FaultProxy, LoseThen, Status
from tests.support.server import PlumeProcess, free_port

from .workload import log_runs


def wait_until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` holds (another thread makes it true)."""
    while not condition():
        time.sleep(0.005)


def fresh_dir(base: Path, name: str) -> Path:
    folder = base / name
    folder.mkdir()
    os.chdir(folder)
    return folder


def assert_same_on_server(runs: list[em.Run], base: Path, where: str) -> None:
    """Each run, loaded from the server into a fresh folder, has the same hparams and metrics."""
    fresh_dir(base, f"loaded-{where.replace('/', '-')}")
    for run in runs:
        back = em.load_run(f"{where}/{run.name}")
        assert back.id == run.id and back.local != run.local
        assert back.params.as_dict() == run.params.as_dict()
        assert back.metrics == run.metrics
        assert (back.status, back.labels, back.end_timestamp) == (run.status, run.labels, run.end_timestamp)


def test_auto_upload_and_load_back(online: PlumeProcess, workdir: Path) -> None:
    runs = log_runs(auto_upload=True, folder="must-show/online", make_folder=True)
    assert all(run.wait_for_upload(120) for run in runs)
    assert all(len(run.metrics[kind]) == 1000 for run in runs for kind in ("train", "val"))
    page = requests.get(f"{online.url}/metrics", params={"run": runs[0].id, "$limit": 0}, timeout=10).json()
    assert page["total"] == 2 * 3 * 1000
    assert_same_on_server(runs, workdir, "must-show/online")
    for run in runs:
        run.stop_upload()


def test_server_down_from_the_start_then_upload_twice(workdir: Path, tmp_path: Path) -> None:
    port = free_port()
    with FaultProxy(f"http://127.0.0.1:{port}").threaded() as proxy:
        connect(proxy.url)  # login() checks the server: the script starts without one
        runs = log_runs(auto_upload=True, folder="must-show/offline", make_folder=True)
        assert not any(run.wait_for_upload(5) for run in runs)  # nothing reached a server
        for run in runs:
            run.stop_upload()
        with PlumeProcess(tmp_path / "server", port=port):
            em.upload(".em/runs", folder="must-show/offline", make_folder=True)
            sent = len(proxy.requests())
            assert sent > 0
            em.upload(".em/runs", folder="must-show/offline", make_folder=True)
            assert len(proxy.requests()) == sent  # the second upload sent nothing at all
            assert_same_on_server(runs, workdir, "must-show/offline")
            docs = requests.get(f"{proxy.url}/runs", params={"folder": "/anonymous/must-show/offline"},
                                timeout=10).json()["data"]
            assert sorted(d["name"] for d in docs) == ["run0", "run1", "run2"]
            for doc in docs:
                assert doc["status"] == "success" and doc["source"] == "em" and doc["hparams"]["epochs"] == 10
    em.logout()


def test_server_killed_mid_run(workdir: Path, tmp_path: Path) -> None:
    with PlumeProcess(tmp_path / "server") as srv:
        em.login(srv.url)
        run = em.create_run(name="survivor", hparams={"a": 1}, auto_upload=True, folder="crash", make_folder=True)
        for step in range(500):
            run.log("train", {"loss": 1 / (step + 1)}, step=step)
        assert run.wait_for_upload(60)
        srv.kill()  # SIGKILL: no goodbye
        for step in range(500, 1000):
            run.log("train", {"loss": 1 / (step + 1)}, step=step)
        run.params.after_crash = True
        srv.start()
        run.finish()
        assert run.wait_for_upload(120)
        run.stop_upload()
        assert_same_on_server([run], workdir, "crash")
        page = requests.get(f"{srv.url}/metrics", params={"run": run.id, "$limit": 0}, timeout=10).json()
        assert page["total"] == 1000
    em.logout()


def test_server_killed_with_a_metrics_batch_in_flight(workdir: Path, tmp_path: Path) -> None:
    """The script logs on and on; the server dies after taking a batch, before answering it (the
    sender cannot know it was stored): after a restart every point is there once, status success."""
    with PlumeProcess(tmp_path / "server") as srv, FaultProxy(srv.url).threaded() as proxy:
        killed = threading.Event()

        def kill() -> None:
            srv.kill()
            killed.set()

        proxy.when("POST", "/metrics", "forward", LoseThen(kill))  # the second batch
        em.login(proxy.url)
        run = em.create_run(name="in-flight", auto_upload=True, folder="crash", make_folder=True)
        step = 0
        while not killed.is_set():
            run.log("train", {"loss": 1 / (step + 1)}, step=step)
            step += 1
        for _ in range(100):  # logging goes on with the server down
            run.log("train", {"loss": 1 / (step + 1)}, step=step)
            step += 1
        srv.start()
        run.finish()
        assert run.wait_for_upload(120)
        run.stop_upload()
        page = requests.get(f"{srv.url}/metrics", params={"run": run.id, "$limit": 0}, timeout=10).json()
        assert page["total"] == step
        assert requests.get(f"{srv.url}/runs/{run.id}", timeout=10).json()["status"] == "success"
        assert_same_on_server([run], workdir, "crash")
    em.logout()


def test_load_run_looks_locally_then_on_the_server(online: PlumeProcess, workdir: Path) -> None:
    with pytest.raises(RuntimeError) as err:
        em.load_run("nowhere/run")
    assert "local run folder" in str(err.value) and "on the server" in str(err.value) and online.url in str(err.value)
    run = em.create_run(name="here")
    run.log("train", {"loss": 1.0}, step=0)
    run.upload()  # into /anonymous/default
    assert em.load_run(run.local).local == run.local  # a local folder first
    fresh_dir(workdir, "elsewhere")
    back = em.load_run("default/here")
    again = em.load_run("/anonymous/default/here")
    assert back.metrics == again.metrics == run.metrics
    back.log("train", {"loss": 0.5}, step=1)  # a loaded run goes on where it is on the server
    back.upload()
    page = requests.get(f"{online.url}/metrics", params={"run": run.id, "$limit": 0}, timeout=10).json()
    assert page["total"] == 2
    assert not list(Path(".em/runs").glob("*/upload.json.tmp"))
    assert (Path(back.local) / local.UPLOAD_FILE).exists()


def test_reading_id_with_auto_upload_makes_the_run_exist(online: PlumeProcess, workdir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The model registry names a run by ``run.id``: with auto_upload, reading it lets the sender put
    the run on the server first; offline, it is the id the run will have once uploaded."""
    offline = em.create_run(name="offline")
    assert requests.get(f"{online.url}/runs/{offline.id}", timeout=10).status_code == 404
    offline.upload()
    assert requests.get(f"{online.url}/runs/{offline.id}", timeout=10).json()["name"] == "offline"
    placing = RunUpload._ensure_run

    def slow(self: RunUpload, state: UploadState) -> bool:
        time.sleep(0.2)  # latency of a remote server: without the wait, the id would come back first
        return placing(self, state)

    monkeypatch.setattr(RunUpload, "_ensure_run", slow)
    run = em.create_run(name="named-by-a-model", auto_upload=True)
    run_id = run.id
    assert requests.get(f"{online.url}/runs/{run_id}", timeout=10).json()["name"] == "named-by-a-model"
    run.stop_upload()


def test_reading_id_does_not_wait_for_a_hung_server(plume: PlumeProcess, workdir: Path) -> None:
    """auto_upload never blocks the script: ``run.id`` answers while the sender's request still hangs."""
    with FaultProxy(plume.url).threaded() as proxy:
        proxy.then(*["hang"] * 20)
        em.login(proxy.url, timeout=60)
        run = em.create_run(name="hung", auto_upload=True)
        sender = run._sender
        assert sender is not None
        wait_until(lambda: len(proxy.requests()) > 0)  # the sender's first request: it hangs
        assert run.id == run.to_dict()["id"]
        assert (sender.passes, sender.failures) == (0, 0)  # its pass is still waiting for an answer
        assert requests.get(f"{plume.url}/runs/{run.id}", timeout=10).status_code == 404
        run.log("train", {"loss": 1.0}, step=0)  # and the script goes on
        run.stop_upload(timeout=0)
    em.logout()


def test_what_is_not_sent_is_left_to_em_upload(plume: PlumeProcess, workdir: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """The sender's warnings name the em way to send a run later (``plume sync`` takes no em folder)."""
    caplog.set_level(logging.WARNING, logger="python_client")
    connect(f"http://127.0.0.1:{free_port()}")  # nothing there: a failure that may pass
    down = em.create_run(name="down", auto_upload=True)
    assert down._sender is not None
    wait_until(lambda: down._sender is not None and down._sender.failures > 0)
    down.stop_upload()
    refused = json.dumps({"name": "Forbidden", "message": "not yours", "code": 403, "className": "forbidden"})
    with FaultProxy(plume.url).threaded() as proxy:
        proxy.then(Status(403, refused, {"Content-Type": "application/json"}))  # a lasting failure
        connect(proxy.url)
        stopped = em.create_run(name="refused", auto_upload=True)
        assert not stopped.wait_for_upload(30)
        assert stopped._sender is not None and stopped._sender.stopped_by is not None
        stopped.stop_upload()
    em.logout()
    for run, level in ((down, logging.WARNING), (stopped, logging.ERROR)):
        (message,) = [r.getMessage() for r in caplog.records if r.levelno == level and run.local in r.getMessage()]
        assert f"em.upload({run.local!r})" in message and "plume sync" not in message
