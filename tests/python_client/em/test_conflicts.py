"""Conflict strategies, make_folder, relative and absolute folders, and who may upload where."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from python_client import DataStore, em
from python_client.errors import Conflict, Forbidden, NotFound
from tests.auth.support import AUTH_CONFIG, PASSWORD
from tests.support.server import REPO, PlumeProcess


def runs_in(url: str, folder: str, name: str | None = None) -> list[dict]:
    query = {"folder": folder, **({"name": name} if name else {})}
    return requests.get(f"{url}/runs", params=query, timeout=10).json()["data"]  # type: ignore[no-any-return]


def points_of(url: str, run_id: str) -> int:
    return requests.get(f"{url}/metrics", params={"run": run_id, "$limit": 0}, timeout=10).json()["total"]  # type: ignore[no-any-return]


def logged(name: str, value: float) -> em.Run:
    run = em.create_run(name=name)
    run.log("train", {"loss": value}, step=0)
    run.finish()
    return run


def test_each_conflict_strategy(online: PlumeProcess, workdir: Path) -> None:
    url, folder = online.url, "/anonymous/strategies"
    first = logged("dup", 1.0)
    with pytest.raises(NotFound, match="make_folder"):
        first.upload(folder="strategies")
    assert runs_in(url, folder) == [] and requests.get(f"{url}/folders", params={"path": folder},
                                                       timeout=10).json()["total"] == 0
    first.upload(folder="strategies", make_folder=True)  # relative: under /anonymous/
    skipped = logged("dup", 2.0)
    skipped.upload(folder=folder, conflict_strategy="skip")
    assert [r["_id"] for r in runs_in(url, folder)] == [first.id] and points_of(url, skipped.id) == 0
    with pytest.raises(Conflict):
        logged("dup", 3.0).upload(folder=folder, conflict_strategy="error")
    assert [r["_id"] for r in runs_in(url, folder)] == [first.id]
    renamed = logged("dup", 4.0)
    renamed.upload(folder=folder, conflict_strategy="new")
    assert runs_in(url, folder, renamed.alternative_name)[0]["_id"] == renamed.id
    replacing = logged("dup", 5.0)
    replacing.upload(folder="strategies", conflict_strategy="replace")
    (now,) = runs_in(url, folder, "dup")
    assert now["_id"] == replacing.id and points_of(url, first.id) == 0 and points_of(url, replacing.id) == 1
    replacing.upload(folder=folder, conflict_strategy="replace")  # the same run again: nothing replaced
    assert runs_in(url, folder, "dup")[0]["_id"] == replacing.id


def test_folder_path_is_folder(online: PlumeProcess, workdir: Path) -> None:
    """The seed's example spelling ``create_run(..., folder_path=...)`` places the run like ``folder``."""
    run = em.create_run(name="aliased", auto_upload=True, folder_path="cv/aliased", make_folder=True)
    run.finish()
    assert run.wait_for_upload(60)
    run.stop_upload()
    assert [r["_id"] for r in runs_in(online.url, "/anonymous/cv/aliased")] == [run.id]


def arts_in(url: str, folder: str) -> list[dict]:
    return requests.get(f"{url}/artifacts", params={"folder": folder}, timeout=10).json()["data"]  # type: ignore[no-any-return]


def weights(name: str = "model") -> em.Artifact:
    art = em.create_artifact(name)
    art.add_file("w.bin")
    return art


def test_artifact_conflict_strategies(online: PlumeProcess, workdir: Path) -> None:
    url, folder = online.url, "/anonymous/arts"
    Path("w.bin").write_bytes(b"weights")
    first = weights()
    first.upload(folder="arts", make_folder=True)
    skipped = weights()
    skipped.upload(folder="arts", conflict_strategy="skip")
    assert [a["_id"] for a in arts_in(url, folder)] == [first.id]
    assert requests.get(f"{url}/artifacts/{skipped.id}", timeout=10).status_code == 404
    skipped.upload(folder="arts", conflict_strategy="skip")  # again: still skipped, nothing sent
    assert [a["_id"] for a in arts_in(url, folder)] == [first.id]
    with pytest.raises(Conflict):
        weights().upload(folder="arts", conflict_strategy="error")
    renamed = weights()
    renamed.upload(folder="arts", conflict_strategy="new")
    assert renamed.alternative_name != "model"
    assert {(a["_id"], a["name"]) for a in arts_in(url, folder)} == {(first.id, "model"),
                                                                      (renamed.id, renamed.alternative_name)}
    second = weights()
    second.upload(folder="arts", conflict_strategy="replace")
    assert {(a["_id"], a["name"]) for a in arts_in(url, folder)} == {(second.id, "model"),
                                                                      (renamed.id, renamed.alternative_name)}


def test_users_upload_only_into_their_own_folders(tmp_path: Path, workdir: Path) -> None:
    srv = PlumeProcess(tmp_path / "server", config=AUTH_CONFIG)
    assert srv.config_path is not None
    for email, role in (("ann@example.org", "editor"), ("bob@example.org", "editor")):
        made = subprocess.run(
            [sys.executable, "-m", "backend.cli", "users", "create", "--email", email, "--role", role,
             "--config", str(srv.config_path), "--data-dir", str(srv.data_dir)],
            cwd=REPO, env={**os.environ, "PLUME_PASSWORD": PASSWORD}, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
    with srv:
        keys = {}
        for name in ("ann", "bob"):
            with DataStore(srv.url) as store:
                store.login(f"{name}@example.org", PASSWORD)
                assert store.user is not None and store.user["username"] == name
                keys[name] = store.service("api-keys").create({"name": "em"})["key"]
        em.login(srv.url, api_key=keys["ann"])
        run = logged("ann-run", 1.0)
        run.upload(folder="cv", make_folder=True)
        assert run.remote[-1]["path"] == "/ann/cv/ann-run"
        run.upload(folder="/ann/default")  # another upload of the same run: where it is already
        em.login(srv.url, api_key=keys["bob"])
        intruder = logged("bob-run", 2.0)
        with pytest.raises(NotFound):  # bob cannot even see ann's folder
            intruder.upload(folder="/ann/cv")
        with pytest.raises(Forbidden):
            intruder.upload(folder="/ann/new", make_folder=True)
        intruder.upload()  # its own /bob/default
        assert intruder.remote[-1]["path"] == "/bob/default/bob-run"
        with pytest.raises(RuntimeError):
            em.load_run("/ann/cv/ann-run")  # bob may not read it: not found
        em.login(srv.url, api_key=keys["ann"])
        assert em.load_run("cv/ann-run").id == run.id
        em.logout()
