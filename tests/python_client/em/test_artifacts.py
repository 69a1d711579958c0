"""Artifacts against a real server: files, nested folders and references round trip, equal bytes are
stored once, a corrupted download is detected, a run uploads the artifacts it names, and registry
models mark as a run's inputs and outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from python_client import em
from python_client.model import Model, OutputModel
from tests.support.server import PlumeProcess


def stored_objects(srv: PlumeProcess) -> list[Path]:
    return sorted(p for p in (srv.data_dir / "files" / "artifact-objects").rglob("*") if p.is_file())


def test_artifacts_round_trip_and_equal_bytes_are_stored_once(online: PlumeProcess, workdir: Path) -> None:
    Path("data/nested/deeper").mkdir(parents=True)
    Path("data/a.txt").write_text("alpha")
    Path("data/nested/b.txt").write_text("beta")
    Path("data/nested/deeper/c.bin").write_bytes(os.urandom(300_000))
    Path("data/nested/empty.txt").write_bytes(b"")
    Path("same.txt").write_text("alpha")  # the bytes of data/a.txt
    art = em.create_artifact("dataset", labels=["v1"], description="files")
    art.add_dir("data")
    art.add_file("same.txt", obj_path="copies/")
    art.add_reference("s3://bucket/big.parquet", obj_path="remote/")
    before = stored_objects(online)
    art.upload(folder="datasets", make_folder=True)
    assert len(stored_objects(online)) - len(before) == 3  # alpha, beta, c.bin; the empty file is no blob
    other = em.create_artifact("copy")
    other.add_file("same.txt")
    other.upload(folder="datasets")
    assert len(stored_objects(online)) - len(before) == 3  # nothing new: the same bytes
    os.chdir(workdir / ".em")
    back = em.load_artifact("datasets/dataset")
    assert back.id == art.id and back.objects == art.objects and back.labels == ["v1"]
    for obj in art.objects:
        if "sha256" in obj:
            assert Path(back.local, obj["path"]).read_bytes() == Path(art.local, obj["path"]).read_bytes()
    assert {"path": "remote/big.parquet", "reference": "s3://bucket/big.parquet"} in back.objects
    history = requests.get(f"{online.url}/artifacts/{art.id}", timeout=10).json()["history"]
    fetched = sum(1 for o in art.objects if o.get("size"))  # the empty file is not fetched
    assert [(h["event"], h["by"], h.get("files")) for h in history] == [("upload", "anonymous", None),
                                                                       ("download", "anonymous", fetched)]
    with pytest.raises(RuntimeError, match="artifact"):
        em.load_artifact("datasets/none")


def test_a_corrupted_download_is_detected(online: PlumeProcess, workdir: Path) -> None:
    Path("w.bin").write_bytes(b"precious weights " * 1000)
    art = em.create_artifact("weights")
    art.add_file("w.bin")
    art.upload(folder="corrupt", make_folder=True)
    sha = art.objects[0]["sha256"]
    (blob,) = [p for p in stored_objects(online) if p.name == sha]
    blob.write_bytes(b"bit rot " * 1000)
    os.chdir(workdir / ".em")
    with pytest.raises(em.ChecksumMismatch, match=r"w\.bin"):
        em.load_artifact("corrupt/weights")


def test_a_run_uploads_the_artifacts_it_names(online: PlumeProcess, workdir: Path) -> None:
    Path("input.csv").write_text("x,y\n1,2\n")
    data = em.create_artifact("inputs")
    data.add_file("input.csv")
    run = em.create_run(name="trained")
    run.mark_input(data)
    run.log("train", {"loss": 0.1}, step=0)
    run.finish()
    run.upload(folder="with-artifacts", make_folder=True)
    found = requests.get(f"{online.url}/artifacts/{data.id}", timeout=10).json()
    assert found["folder"] == "/anonymous/with-artifacts" and found["objects"] == data.objects
    assert [(h["event"], h["by"]) for h in found["history"]] == [("upload", "anonymous")]
    doc = requests.get(f"{online.url}/runs/{run.id}", timeout=10).json()
    assert doc["associations"] == {"inputs": [{"kind": "artifact", "id": data.id, "name": "inputs"}], "outputs": []}
    # Another writer (the model registry) adds an output: the client's next patch keeps it.
    requests.patch(f"{online.url}/runs/{run.id}", json={"associations": {"outputs": [
        {"kind": "model", "id": "m1", "name": "mlp"}]}}, timeout=10).raise_for_status()
    run.mark_output({"kind": "dataset", "id": "d1", "name": "preds"})
    run.upload()
    doc = requests.get(f"{online.url}/runs/{run.id}", timeout=10).json()
    assert doc["associations"]["outputs"] == [{"kind": "model", "id": "m1", "name": "mlp"},
                                              {"kind": "dataset", "id": "d1", "name": "preds"}]


def test_bad_objects_are_refused_by_the_server(online: PlumeProcess, workdir: Path) -> None:
    url = online.url
    sha = "a" * 64
    for objects in ([{"path": "../x", "reference": "s3://x"}], [{"path": "/abs", "reference": "s3://x"}],
                    [{"path": "x", "sha256": sha, "size": 1}], [{"path": "x"}],
                    [{"path": "x", "reference": "s3://a"}, {"path": "x", "reference": "s3://b"}]):
        r = requests.post(f"{url}/artifacts", json={"name": "bad", "folder": "default", "objects": objects}, timeout=10)
        assert r.status_code == 400, (objects, r.text)
    r = requests.post(f"{url}/artifacts/upload", files={sha: ("x.bin", b"not those bytes")}, timeout=10)
    assert r.status_code == 400 and "SHA-256" in r.json()["message"]
    assert requests.get(f"{url}/artifacts", params={"name": "bad"}, timeout=10).json()["total"] == 0


def test_registry_models_as_a_runs_input_and_output(online: PlumeProcess, workdir: Path) -> None:
    """``mark_input`` / ``mark_output`` take the registry's ``Model`` and ``OutputModel``; a model that
    names the run as its task (the registry lists it too) is listed once."""
    pretrain = em.create_run(name="pretrain")
    base = OutputModel(task=pretrain, name="base")
    pretrain.finish()
    run = em.create_run(name="fine-tune")
    run.mark_input(Model(base.id))
    tuned = OutputModel(task=run, name="tuned")  # the registry adds it to the run when the run arrives
    run.mark_output(tuned)
    run.mark_output(tuned)  # once is enough
    side = OutputModel(name="side")  # made by the current run: listed by the registry, marked once
    run.mark_output(side)
    run.upload(folder="marked", make_folder=True)
    doc = requests.get(f"{online.url}/runs/{run.id}", timeout=10).json()
    assert doc["associations"] == {"inputs": [{"kind": "model", "id": base.id, "name": "base"}],
                                   "outputs": [{"kind": "model", "id": tuned.id, "name": "tuned"},
                                               {"kind": "model", "id": side.id, "name": "side"}]}
    with pytest.raises(TypeError, match="cannot mark"):
        run.mark_output(object())
