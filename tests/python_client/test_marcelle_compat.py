"""The server accepts the requests of Marcelle's own Python package 0.0.5 (its real code, run in a subprocess).

``scripts/setup --all`` installs the package into ``.venv/compat`` (``requirements-marcelle-compat.txt``);
``marcelle_driver.py`` runs its DataStore, Remote, Writer and Uploader against a ``plume serve``.
Its quirks (README.md, "Queries" and "Models, assets and server-side conversion"): unencoded query
strings (``$sort[createdAt]=-1&$select[]=name``), 201 expected on create, ``[[name, id]]`` upload replies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from python_client import DataStore, Remote, Uploader
from tests.support.server import REPO, PlumeProcess

COMPAT = REPO / ".venv" / "compat"
pytestmark = pytest.mark.skipif(not (COMPAT / "marcelle").is_dir(),
                                reason="Marcelle 0.0.5 is not installed in .venv/compat: run scripts/setup --all")


@pytest.fixture(scope="module")
def marcelle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PlumeProcess, dict[str, Any]]]:
    """A server, and what Marcelle's code got from it."""
    tmp = tmp_path_factory.mktemp("marcelle")
    with PlumeProcess(tmp / "server") as srv:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(COMPAT), str(REPO)])}
        proc = subprocess.run([sys.executable, "-m", "tests.python_client.marcelle_driver", srv.url, str(tmp / "work")],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        yield srv, json.loads(proc.stdout.strip().splitlines()[-1])


def ok(results: dict[str, Any], key: str) -> Any:
    step = results[key]
    assert step["ok"], f"{key}: {step.get('error')}\n{step.get('trace')}"
    return step["value"]


def test_its_datastore_calls(marcelle: tuple[PlumeProcess, dict[str, Any]]) -> None:
    srv, out = marcelle
    ids = [ok(out, f"create{i}") for i in range(12)]  # Marcelle checks for 201 on create
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    page = ok(out, "find")  # ?i[$gt]=6&$sort[i]=-1&$select[]=i&tag=m, brackets unencoded
    assert page["total"] == 5 and [r["i"] for r in page["data"]] == [11, 10, 9, 8, 7]
    assert set(page["data"][0]) == {"_id", "i"}
    assert [r["i"] for r in ok(out, "find_in")] == [1, 3]  # i[$in][]=1&i[$in][]=3
    assert ok(out, "get")["i"] == 0 and ok(out, "patch")["x"] == 100
    assert ok(out, "update")["replaced"] is True and ok(out, "remove")["i"] == 3
    marcelle_order = ok(out, "items")
    assert sorted(marcelle_order) == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert marcelle_order != sorted(marcelle_order)  # Marcelle's items() yields each page backwards
    with DataStore(srv.url) as store:  # Plume's client on the same records: in order
        assert [r["i"] for r in store.service("marcelle-things").items({"tag": "m"}, page_size=10)] == sorted(
            marcelle_order)


def test_its_remote_writer_and_uploader(marcelle: tuple[PlumeProcess, dict[str, Any]], tmp_path: Path) -> None:
    srv, out = marcelle
    name, run_id = ok(out, "remote_create1")  # ?basename=mrun&$sort[createdAt]=-1&$select[]=name&$limit=1
    assert name == "mrun-1" and re.fullmatch(r"[0-9a-f]{24}", run_id) and ok(out, "remote_create2") == "mrun-2"
    ok(out, "remote_update")
    assert ok(out, "retrieve_run") == "mrun-2"
    run_dir = Path(ok(out, "writer"))
    ok(out, "uploader")  # Marcelle's Uploader finds its run up to date on Plume
    with DataStore(srv.url) as store:
        (run,) = store.service("runs").find({"query": {"basename": "mwriter"}})["data"]
        assert (run["name"], run["status"], run["logs"], run["params"]) == (
            "mwriter-1", "success", {"loss": [0.5, 0.25]}, {"lr": 0.1})
        assert store.service("runs").find({"query": {"basename": "mrun", "status": "epoch"}})["total"] == 1
        # Plume's Uploader reads a folder written by Marcelle: it finds the run by its start date.
        remote = Remote(srv.url)
        report = Uploader(remote, progress=False).upload(run_dir)
        assert not report.created_run and json.loads((run_dir / "run_data.json").read_text())["_id"] == run["_id"]
        assert store.service("runs").find({"query": {"basename": "mwriter", "$limit": 0}})["total"] == 1
        remote.close()


def test_its_upload_requests_are_accepted(marcelle: tuple[PlumeProcess, dict[str, Any]], tmp_path: Path) -> None:
    srv, out = marcelle
    reply = out["upload_request"]
    assert reply["status"] == 200  # as Marcelle's express backend (v0.6.5), which its package expects
    pairs = reply["body"]
    assert [p[0] for p in pairs] == ["model.json", "group1-shard1of1.bin"]
    assert all(re.fullmatch(r"[0-9a-f]{24}/" + re.escape(p[0]), p[1]) for p in pairs)
    with DataStore(srv.url) as store:  # the files are stored: a document naming them is accepted and serves them
        doc = store.service("tfjs-models").create({"files": pairs, "format": "tfjs"})
        got = store.service("tfjs-models").download(doc["_id"], "model.json", tmp_path)
        assert json.loads(got.read_text())["format"] == "layers-model"


def test_its_upload_helpers_complete(marcelle: tuple[PlumeProcess, dict[str, Any]]) -> None:
    _, out = marcelle
    assert ok(out, "upload_tfjs_model")["format"] == "tfjs"
    assert ok(out, "upload_asset")["filename"] == "plot.png"
